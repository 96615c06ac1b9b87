// DBC text: parse_dbc never crashes, and whatever it accepts round-trips through the writer:
// the export reads back without a diagnostic, to an equal database, and exports identically.
// Each accepted message also gets a codec (which must not refuse what the validator passed), and
// every signal is decoded and re-encoded from input-dependent payloads, including values no
// signal can carry.
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "fuzz_support.hpp"
#include "packsim/can/codec.hpp"
#include "packsim/can/dbc.hpp"

using namespace packsim;

namespace {

void exercise_codec(const can::Message& m, const std::uint8_t* data, std::size_t size) {
  std::unique_ptr<can::MessageCodec> codec;
  try {
    codec = std::make_unique<can::MessageCodec>(m);
  } catch (const std::exception& e) {
    fuzz::finding("a message the parser accepted has no codec", m.name + ": " + e.what());
  }
  can::CanFrame f;
  codec->prepare_frame(f);
  // Payload bytes from the input itself, so the fuzzer steers them too.
  for (std::size_t k = 0; k < f.data.size(); ++k) {
    f.data[k] = size > 0 ? data[(k * 7919u + m.id) % size] : 0;
  }
  constexpr double kAwkward[] = {std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 1e300,
                                 -1e300,
                                 std::numeric_limits<double>::denorm_min(),
                                 9.2233720368547758e18,
                                 1.8446744073709552e19};
  for (std::size_t k = 0; k < codec->signal_count(); ++k) {
    const can::DecodeResult d = codec->decode(k, f);
    codec->get_raw_signed(k, f.data.data());
    codec->is_active(k, f.data.data());
    can::CanFrame g = f;
    codec->encode(k, d.value, g);
    for (const double v : kAwkward) codec->encode(k, v, g);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto first = can::parse_dbc(fuzz::as_text(data, size), "input.dbc");
  // The writer takes whatever was read, even from a file with errors; it must not fail on it.
  const std::string out = can::to_dbc_text(first.database);
  if (!first.ok()) return 0;
  const Diagnostics again = can::validate_database(first.database, "input.dbc");
  fuzz::check(again.empty(), "validate_database refuses what parse_dbc accepted", again.format());
  const auto second = can::parse_dbc(out, "export.dbc");
  fuzz::check(second.ok(), "the export of an accepted file does not read back",
              second.diagnostics.format() + "--- export:\n" + out);
  fuzz::check(second.database == first.database, "the export reads back to another database",
              "--- export:\n" + out);
  fuzz::check(can::to_dbc_text(second.database) == out, "the export of the re-read differs",
              "--- export:\n" + out);
  for (const auto& m : first.database.messages) exercise_codec(m, data, size);
  return 0;
}
