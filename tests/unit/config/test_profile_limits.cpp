// Profile index expressions at their limits: how deep they nest, 64-bit overflow in their
// arithmetic, the range an index may take, and the runtime's index arithmetic with the largest mux
// value a received frame can carry. Each case here crashed or was undefined behaviour once.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "config_test_util.hpp"
#include "packsim/can/protocol.hpp"
#include "packsim/config/loaders.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("packsim-limits") {}
};

// 96 channels in 12 modules of 8, four sensors per module.
const config::ProfileLayout kLayout{96, 48, 12, 8, 4, 1'000'000, {}};

const std::string kPacksimDbc = std::string(PACKSIM_SOURCE_DIR) + "/profiles/packsim/packsim.dbc";

std::string tx_profile(const std::string& index) {
  return "[profile]\nname = \"limits\"\ndbc = \"" + kPacksimDbc +
         "\"\n[[tx]]\nmessage = \"AFE_CellVoltages\"\nper = \"module\"\nperiod = \"100 ms\"\n"
         "mux = \"Mux\"\nmux_values = \"0..5\"\n[tx.signals]\n"
         "\"CellVoltage{c}\" = \"cell_voltage[" +
         index + "]\"\n";
}

std::string rx_profile(const std::string& dbc, const std::string& message,
                       const std::string& binding) {
  return "[profile]\nname = \"limits\"\ndbc = \"" + dbc + "\"\n[[rx]]\nmessage = \"" + message +
         "\"\nper = \"module\"\n[rx.signals]\n" + binding + "\n";
}

struct Loaded {
  std::shared_ptr<const can::Profile> profile;
  std::string errors;
  std::size_t count = 0;
};

Loaded load(const TempDir& dir, const std::string& text) {
  Diagnostics d;
  Loaded l;
  l.profile = config::load_profile(dir.write("profile.toml", text), kLayout, d);
  l.errors = d.format();
  l.count = d.size();
  return l;
}

using test::Capture;

}  // namespace

TEST_CASE("An index nested 20,000 deep is a located error, not a stack overflow", "[profile]") {
  // A 43 KB profile like this made `packsim check` die with SIGSEGV (the evaluator recursed once
  // per parenthesis).
  TempDir dir;
  const Loaded deep = load(
      dir, tx_profile(std::string(20'000, '(') + "cell(module, c)" + std::string(20'000, ')')));
  INFO(deep.errors);
  CHECK_FALSE(deep.profile);
  CHECK(deep.count == 1);
  CHECK(deep.errors.find("profile.toml:11:20: tx[0].signals.CellVoltage{c}: index \"((((") !=
        std::string::npos);
  CHECK(deep.errors.find("nested more than 64 levels deep") != std::string::npos);
  CHECK(deep.errors.size() < 400);  // the expression is shown cut short, not 40 KB of it
  // Signs nest as parentheses do.
  const Loaded signs = load(dir, tx_profile(std::string(20'000, '-') + "c"));
  CHECK(signs.errors.find("nested more than 64 levels deep") != std::string::npos);
  // Nesting a person writes still works.
  const Loaded ok =
      load(dir, tx_profile(std::string(60, '(') + "cell(module, c)" + std::string(60, ')')));
  INFO(ok.errors);
  CHECK(ok.profile);
}

TEST_CASE("Index arithmetic that overflows 64 bits or leaves the index range is refused",
          "[profile]") {
  TempDir dir;
  const Loaded cell = load(dir, tx_profile("cell(9223372036854775807, c)"));
  INFO(cell.errors);
  CHECK(cell.errors.find("index \"cell(9223372036854775807, c)\": cell(9223372036854775807, 0): "
                         "module * cells_per_module + index is out of range") != std::string::npos);
  const Loaded far = load(dir, tx_profile("c * 1000000001"));
  CHECK(far.errors.find("value 1000000001 is out of range; expected -1000000000..1000000000") !=
        std::string::npos);

  // A received balancing mask scaled by 9e18: the linearity check did 2 * 9e18 unchecked.
  const Loaded mask = load(dir, rx_profile(kPacksimDbc, "BMS_Balancing",
                                           "BalanceMask = \"balance_mask[(module - 1) * "
                                           "9000000000000000000]\""));
  INFO(mask.errors);
  CHECK_FALSE(mask.profile);
  CHECK(mask.errors.find("rx[0].signals.BalanceMask: index \"(module - 1) * "
                         "9000000000000000000\": value -9000000000000000000 is out of range") !=
        std::string::npos);
  // Every value within range, but not linear, with a stride no int holds.
  const Loaded stride =
      load(dir, rx_profile(kPacksimDbc, "BMS_Balancing",
                           "BalanceMask = \"balance_channel[-999999999 + 1999999998 * module - "
                           "999999999 * module * (module - 1)]\""));
  INFO(stride.errors);
  CHECK(stride.errors.find("changes by 1999999998 per module and 0 per mux row; expected at most "
                           "1000000000 either way") != std::string::npos);
}

TEST_CASE("A received multiplexor 0xFFFF times a large stride addresses no channel", "[profile]") {
  TempDir dir;
  dir.write("rows.dbc",
            "VERSION \"\"\nBU_: BMS PACKSIM\n"
            "BO_ 1792 BMS_Rows: 8 BMS\n"
            " SG_ Row M : 0|16@1+ (1,0) [0|65535] \"\" PACKSIM\n"
            " SG_ Mask : 16|8@1+ (1,0) [0|255] \"\" PACKSIM\n");
  // 65535 * 65537 = 2^32 - 1: in int arithmetic that wrapped to -1, and bits 1..7 of the mask
  // balanced channels 0..6.
  const Loaded l = load(dir,
                        "[profile]\nname = \"rows\"\ndbc = \"rows.dbc\"\n[[rx]]\n"
                        "message = \"BMS_Rows\"\n[rx.signals]\n"
                        "Mask = \"balance_mask[mux * 65537]\"\n");
  INFO(l.errors);
  REQUIRE(l.profile);
  can::SimProtocol sim(l.profile, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules);
  const can::MessageCodec& codec = *l.profile->rx[0].codec;
  auto send = [&](std::uint64_t row, std::uint64_t mask) {
    can::CanFrame f;
    codec.prepare_frame(f);
    codec.set_raw(codec.find("Row"), row, f.data.data());
    codec.set_raw(codec.find("Mask"), mask, f.data.data());
    sim.receive(0, f, 0);
  };
  send(0, 0x81);  // row 0: channels 0 and 7
  CHECK(sim.commands().balance[0] == 1);
  CHECK(sim.commands().balance[7] == 1);
  send(0, 0x00);
  send(0xFFFF, 0xFF);
  send(1, 0xFF);  // channel 65537 on: beyond the pack
  CHECK(sim.stats().rx_frames == 4);
  for (std::size_t ch = 0; ch < sim.commands().balance.size(); ++ch) {
    INFO("channel " << ch);
    CHECK(sim.commands().balance[ch] == 0);
  }
}

TEST_CASE("The BMS side's command index is computed in 64 bits", "[profile]") {
  // Instance 11: -999999997 + 11 * 481360663 = 2^32, which int arithmetic wrapped to channel 0.
  TempDir dir;
  const Loaded l = load(dir, rx_profile(kPacksimDbc, "BMS_Balancing",
                                        "BalanceMask = \"balance_channel[-999999997 + module * "
                                        "481360663]\""));
  INFO(l.errors);
  REQUIRE(l.profile);
  can::BmsProtocol bms(l.profile, kLayout.n_channels, kLayout.n_sensors, kLayout.n_modules,
                       kLayout.cells_per_module, kLayout.sensors_per_module);
  can::BmsCommands cmd;
  std::vector<std::uint8_t> balance(static_cast<std::size_t>(kLayout.n_channels), 0);
  balance[0] = 1;
  cmd.balance = balance.data();
  Capture out;
  bms.transmit(0, cmd, out);
  REQUIRE(out.frames.size() == 12);
  const can::MessageCodec& codec = *l.profile->rx[0].codec;
  for (const auto& f : out.frames) {
    INFO("frame id " << f.id);
    CHECK(codec.get_raw(codec.find("BalanceMask"), f.data.data()) == 0);
  }
}

TEST_CASE("Every module's frame id must fit the message's format", "[profile]") {
  // 0x600 + 11 * 0x100 = 0x1100 was accepted, and module 11's frames went out with an id no
  // standard frame has; 0x690 + 11 * 0x1FFFFFFF wrapped in 32 bits.
  TempDir dir;
  const Loaded tx = load(dir, "[profile]\nname = \"ids\"\ndbc = \"" + kPacksimDbc +
                                  "\"\n[[tx]]\nmessage = \"AFE_CellVoltages\"\nper = \"module\"\n"
                                  "id_step = 256\nperiod = \"100 ms\"\nmux = \"Mux\"\n"
                                  "mux_values = \"0..5\"\n[tx.signals]\n"
                                  "\"CellVoltage{c}\" = \"cell_voltage[cell(module, c)]\"\n");
  INFO(tx.errors);
  CHECK_FALSE(tx.profile);
  CHECK(tx.errors.find("profile.toml:7:11: tx[0].id_step: AFE_CellVoltages: module 11 would send "
                       "id 0x1100, beyond the 11-bit standard range; expected ids up to 0x7FF") !=
        std::string::npos);
  const Loaded wrap = load(dir, "[profile]\nname = \"ids\"\ndbc = \"" + kPacksimDbc +
                                    "\"\n[[rx]]\nmessage = \"BMS_Balancing\"\nper = \"module\"\n"
                                    "id_step = 0x1FFFFFFF\n[rx.signals]\n"
                                    "BalanceMask = \"balance_mask[module * cells_per_module]\"\n");
  INFO(wrap.errors);
  CHECK_FALSE(wrap.profile);
  CHECK(wrap.errors.find("rx[0].id_step: BMS_Balancing: module 11 would send id 0x160000685, "
                         "beyond the 11-bit standard range") != std::string::npos);
  // The shipped layout: 12 modules from 0x600 in steps of 1 fit.
  const Loaded ok = load(dir, tx_profile("cell(module, c)"));
  INFO(ok.errors);
  CHECK(ok.profile);
}
