// Loaders against small files written by the tests, and the shipped examples.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "packsim/config/loaders.hpp"

using namespace packsim;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("packsim-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

const char* kCell = R"(
[cell]
name = "test cell"
capacity = "2 Ah"
v_min = "2.5 V"
v_max = "4.2 V"
[thermal]
mass = "50 g"
specific_heat = "1000 J/kg/K"
surface_area = "0.004 m2"
h_conv = "10 W/m2/K"
[ocv]
soc = [0.0, 0.5, 1.0]
temp_degc = [25.0]
ocv_v = [[3.0, 3.6, 4.2]]
entropic_v_per_k = [1e-4, 0.0, -2e-4]
[dynamic]
soc = [0.0, 1.0]
temp_degc = [0.0, 50.0]
r0_discharge_ohm = [[0.04, 0.03], [0.02, 0.01]]
[[dynamic.rc]]
r_ohm = [[0.01, 0.01], [0.01, 0.01]]
tau_s = [[10, 10], [20, 20]]
[hysteresis]
gamma = 40
m = "10 mV"
)";
}  // namespace

TEST_CASE("Cell model file: tables, defaults and the entropic extension", "[config]") {
  TempDir dir;
  Diagnostics diags;
  const auto cell = config::load_cell_type(dir.write("cell.toml", kCell), diags);
  INFO(diags.format());
  REQUIRE(cell);
  CHECK(cell->capacity_as == Approx(7200));
  CHECK(cell->rc_pairs == 1);
  CHECK(cell->hyst_m == Approx(0.010));
  CHECK(cell->hyst_m0 == 0.0);
  // One OCV row plus dOCV/dT: OCV(z, T) = row(z) + (T - 25 degC) * entropic(z).
  const auto& ocv = cell->ocv;
  const auto g = ocv.locate(0.0, 298.15 + 10.0);
  CHECK(ocv.value(g, model::kOcv) == Approx(3.0 + 10 * 1e-4));
  CHECK(ocv.value(g, model::kDocvDt) == Approx(1e-4));
  const auto g2 = ocv.locate(1.0, 298.15 - 20.0);
  CHECK(ocv.value(g2, model::kOcv) == Approx(4.2 + 20 * 2e-4));
  // Charge R0 defaults to the discharge table; temperatures are kelvin inside.
  const auto d = cell->dynamic.locate(0.5, 273.15 + 25.0);
  CHECK(cell->dynamic.value(d, model::kR0Discharge) == Approx(0.025));
  CHECK(cell->dynamic.value(d, model::kR0Charge) == Approx(0.025));
  CHECK(cell->dynamic.value(d, model::kRcBase + 1) == Approx(15.0));  // tau
}

TEST_CASE("Pack file: spread, overrides by index or by group/position, defaults", "[config]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  const auto pack_path = dir.write("pack.toml", R"(
[pack]
name = "p"
cell = "cell.toml"
series = 4
parallel = 3
[spread]
capacity = "2 %"
[[override]]
cell = 5
soc = "10 %"
[[override]]
group = 2
position = 1
r0 = "150 %"
[thermal]
cell_to_cell = "0.3 W/K"
[[thermal.barrier]]
cells = [0, 1]
conductance = "0.01 W/K"
)");
  Diagnostics diags;
  const auto pack = config::load_pack(pack_path, diags);
  INFO(diags.format());
  REQUIRE(pack);
  const model::PackSpec& s = pack->spec;
  CHECK(s.series == 4);
  CHECK(s.parallel == 3);
  CHECK(s.spread.capacity_rel_sigma == Approx(0.02));
  REQUIRE(s.overrides.size() == 2);
  CHECK(s.overrides[0].cell == 5);
  CHECK(*s.overrides[0].soc == Approx(0.1));
  CHECK(s.overrides[1].cell == 2 * 3 + 1);
  CHECK(*s.overrides[1].r0_scale == Approx(1.5));
  CHECK(s.link.contactor_ohm == Approx(1e-4));  // default
  REQUIRE(s.thermal.barriers.size() == 1);
  CHECK(s.thermal.barriers[0].g_w_per_k == Approx(0.01));
  CHECK(pack->cell.name == "test cell");
}

TEST_CASE("Pack file: named impingement targets, and their errors at their keys", "[config]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  const std::string head = "[pack]\nname = \"p\"\ncell = \"cell.toml\"\nseries = 4\nparallel = 2\n";
  {
    Diagnostics diags;
    const auto pack = config::load_pack(
        dir.write("a.toml", head + "[[thermal.impingement]]\ncell = 3\nonto = [7, 0]\n"
                                   "share = \"25 %\"\n[[thermal.impingement]]\ncell = 0\n"
                                   "onto = [1]\n"),
        diags);
    INFO(diags.format());
    REQUIRE(pack);
    const auto& imp = pack->spec.thermal.impingement;
    REQUIRE(imp.size() == 2);
    CHECK(imp[0].cell == 3);
    CHECK(imp[0].onto == std::vector<int>{7, 0});
    REQUIRE(imp[0].share);
    CHECK(*imp[0].share == Approx(0.25));
    CHECK(imp[1].cell == 0);
    CHECK_FALSE(imp[1].share);  // the cell model's share
  }
  // Every mistake at once, each at its key: a cell past the pack, the cell itself, a repeat, a
  // second table for one cell, a share above 1.
  Diagnostics diags;
  const auto pack = config::load_pack(
      dir.write("b.toml", head + "[[thermal.impingement]]\ncell = 2\nonto = [8, 2, 1, 1]\n"
                                 "share = 1.5\n[[thermal.impingement]]\ncell = 2\nonto = []\n"),
      diags);
  CHECK_FALSE(pack);
  const std::string f = (dir.path / "b.toml").string();
  const std::string text = diags.format();
  INFO(text);
  CHECK(text.find(f + ":8:8: thermal.impingement[0].onto: cell 8 is not a cell of the pack; "
                      "expected 0..7") != std::string::npos);
  CHECK(text.find("onto: cell 2 is the venting cell itself") != std::string::npos);
  CHECK(text.find("onto: cell 1 is named twice") != std::string::npos);
  CHECK(text.find(f + ":9:9: thermal.impingement[0].share:") != std::string::npos);
  CHECK(text.find("thermal.impingement[1].onto: expected at least one cell") != std::string::npos);
  CHECK(text.find("thermal.impingement[1].cell: cell 2 already has an impingement table") !=
        std::string::npos);
}

TEST_CASE("Pack insulation resistance: default, set, and a bad value at its key", "[config]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  const std::string head = "[pack]\nname = \"p\"\ncell = \"cell.toml\"\nseries = 2\nparallel = 1\n";
  {
    Diagnostics diags;
    const auto pack = config::load_pack(dir.write("a.toml", head), diags);
    REQUIRE(pack);
    CHECK(pack->spec.insulation_ohm == Approx(10e6));  // healthy default
  }
  {
    Diagnostics diags;
    const auto pack = config::load_pack(
        dir.write("b.toml", head + "insulation_resistance = \"2000 kOhm\"\n"), diags);
    INFO(diags.format());
    REQUIRE(pack);
    CHECK(pack->spec.insulation_ohm == Approx(2e6));
  }
  {
    Diagnostics diags;
    const auto pack =
        config::load_pack(dir.write("c.toml", head + "insulation_resistance = \"0 Ohm\"\n"), diags);
    CHECK_FALSE(pack);
    const std::string text = diags.format();
    INFO(text);
    CHECK(text.find("c.toml:6:") != std::string::npos);  // at the key's line
    CHECK(text.find("insulation_resistance") != std::string::npos);
  }
}

TEST_CASE("Scenario file: C-rates, per-cell CV voltage, events in time order", "[config]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  dir.write("pack.toml", "[pack]\nname = \"p\"\ncell = \"cell.toml\"\nseries = 10\nparallel = 2\n");
  dir.write("p.csv", "t,amps\n0,1\n1,2\n2,-1\n");
  const auto sc_path = dir.write("s.toml", R"(
[scenario]
name = "s"
pack = "pack.toml"
duration = "1 h"
tick = "2 ms"
seed = 9
[[load]]
kind = "current"
current = "0.5 C"
until = ["cell_v_min < 3 V", "soc < 20 %"]
[[load]]
kind = "cccv"
current = "1 C"
cell_voltage = "4.1 V"
[[load]]
kind = "profile"
file = "p.csv"
time_column = "t"
value_column = "amps"
scale = 2.0
repeat = 3
[[event]]
at = "30 min"
ambient = "40 degC"
[[event]]
at = "10 min"
contactors = "open"
[record]
every = "100 ms"
cells = ["v", "t"]
[bms]
mode = "none"  # the scenario drives the contactors itself
)");
  Diagnostics diags;
  const auto sc = config::load_scenario(sc_path, diags);
  INFO(diags.format());
  REQUIRE(sc);
  CHECK(sc->tick_ns == 2'000'000);
  CHECK(sc->duration_ns == 3'600'000'000'000);
  CHECK(sc->seed == 9);
  REQUIRE(sc->load.size() == 3);
  CHECK(sc->load[0].value == Approx(0.5 * 2 * 2));  // 0.5 C of a 2p pack of 2 Ah cells
  REQUIRE(sc->load[0].until.size() == 2);
  CHECK(sc->load[0].until[1].nodes[0].threshold == Approx(0.2));
  CHECK(sc->load[1].cv_voltage_v == Approx(41.0));
  REQUIRE(sc->load[2].profile);
  CHECK(sc->load[2].profile->value == std::vector<double>{2, 4, -2});
  CHECK(sc->load[2].profile->t_ns == std::vector<std::int64_t>{0, 1'000'000'000, 2'000'000'000});
  CHECK(sc->load[2].profile->repeat == 3);
  REQUIRE(sc->events.size() == 2);
  CHECK(sc->events[0].at_ns == 600'000'000'000);  // sorted
  CHECK(sc->events[0].contactors->main_pos == false);
  CHECK(*sc->events[1].ambient_k == Approx(313.15));
  CHECK(sc->record.every_ns == 100'000'000);
  CHECK(sc->record.cells.voltage);
  CHECK_FALSE(sc->record.cells.soc);
}

TEST_CASE("Scenario [record]: can_log mode, size limit and rotated files kept", "[config]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  dir.write("pack.toml", "[pack]\nname = \"p\"\ncell = \"cell.toml\"\nseries = 4\nparallel = 1\n");
  const std::string head =
      "[scenario]\nname = \"s\"\npack = \"pack.toml\"\nduration = \"1 s\"\n[bms]\nmode = "
      "\"none\"\n[record]\n";
  auto load = [&](const std::string& record, Diagnostics& diags) {
    return config::load_scenario(dir.write("s.toml", head + record), diags);
  };
  {
    Diagnostics diags;
    const auto sc = load("", diags);
    REQUIRE(sc);
    CHECK(sc->record.can_log == sim::CanLogMode::kAll);
    CHECK(sc->record.can_log_max_bytes == 0);
    CHECK(sc->record.can_log_keep == sim::kDefaultCanLogKeep);
  }
  {
    Diagnostics diags;
    const auto sc = load("can_log = \"rx\"\ncan_log_max = \"100 MB\"\ncan_log_keep = 7\n", diags);
    INFO(diags.format());
    REQUIRE(sc);
    CHECK(sc->record.can_log == sim::CanLogMode::kRx);
    CHECK(sc->record.can_log_max_bytes == 100'000'000u);
    CHECK(sc->record.can_log_keep == 7);
  }
  {
    Diagnostics diags;
    const auto sc = load("can_log = \"tx\"\ncan_log_max = 65536\n", diags);  // bytes
    REQUIRE(sc);
    CHECK(sc->record.can_log == sim::CanLogMode::kTx);
    CHECK(sc->record.can_log_max_bytes == 65536u);
  }
  // Settings that would do nothing, or cannot be, are errors at their key.
  auto error_of = [&](const std::string& record) {
    Diagnostics diags;
    CHECK_FALSE(load(record, diags));
    return diags.format();
  };
  CHECK_THAT(
      error_of("can_log = \"both\"\n"),
      Catch::Contains("record.can_log: \"both\" is not one of \"all\", \"rx\", \"tx\", \"off\""));
  CHECK_THAT(error_of("can_log_max = \"10 mb\"\n"),
             Catch::Contains("record.can_log_max: unknown unit 'mb'"));
  CHECK_THAT(
      error_of("can_log_max = \"1 kB\"\n"),
      Catch::Contains("record.can_log_max: 1000 bytes is too small; expected at least 4096"));
  CHECK_THAT(error_of("can_log = \"off\"\ncan_log_max = \"1 MB\"\n"),
             Catch::Contains("record.can_log_max: does nothing with can_log = \"off\""));
  CHECK_THAT(error_of("can_log_keep = 5\n"),
             Catch::Contains("record.can_log_keep: does nothing without can_log_max"));
  CHECK_THAT(
      error_of("can_log_max = \"1 MB\"\ncan_log_keep = 0\n"),
      Catch::Contains("record.can_log_keep: value 0 out of range; expected between 1 and 1000"));
}

TEST_CASE("A load profile value that overflows when scaled is an error at its cell", "[config]") {
  // -0.841e308 C is a finite number, and times the capacity it was -inf amperes in the profile.
  TempDir dir;
  const auto path = dir.write("p.csv", "time_s,c_rate\n0,595\n33,-0.5285\n34,-0.841e308\n");
  Diagnostics diags;
  const auto p = config::load_profile_csv(path, "time_s", "c_rate", 2.5, diags);
  INFO(diags.format());
  CHECK_FALSE(p);
  CHECK(diags.size() == 1);
  CHECK(diags.format().find("p.csv:4:4: value -8.41e+307 in column 'c_rate' times 2.5 is not a "
                            "finite number") != std::string::npos);
  Diagnostics ok_diags;
  CHECK(config::load_profile_csv(path, "time_s", "c_rate", 1.0, ok_diags));
}

TEST_CASE("Pack file: NTC rails, vent-gas sensor and insulation monitor keys", "[config][faults]") {
  TempDir dir;
  dir.write("cell.toml", kCell);
  const std::string head = R"(
[pack]
name = "p"
cell = "cell.toml"
series = 4
parallel = 1
)";
  {
    const auto path = dir.write("pack.toml", head + R"(
[afe.temperature]
sensors_per_module = 1
min_temperature = "-30 degC"
max_temperature = "150 degC"
[afe.gas_sensor]
free_volume_l = 40
molar_mass_g_per_mol = 30
air_changes_per_h = 2
time_constant = "3 s"
resolution_ppm = 10
[afe.insulation]
max_resistance = "5 MOhm"
period = "500 ms"
error_threshold = "100 kOhm"
warning_threshold = "300 kohm"
)");
    Diagnostics diags;
    const auto pack = config::load_pack(path, diags);
    INFO(diags.format());
    REQUIRE(pack);
    const model::AfeSpec& a = pack->afe;
    CHECK(a.t_rail_low_k == Approx(243.15));
    CHECK(a.t_rail_high_k == Approx(423.15));
    CHECK(a.gas_free_volume_m3 == Approx(0.04));
    CHECK(a.gas_molar_mass_g_per_mol == 30.0);
    CHECK(a.gas_air_changes_per_h == 2.0);
    CHECK(a.gas_tau_s == Approx(3.0));
    CHECK(a.gas_lsb_ppm == 10.0);
    CHECK(a.imd_max_ohm == Approx(5e6));
    CHECK(a.imd_period_s == Approx(0.5));
    CHECK(a.imd_error_ohm == Approx(100e3));
    CHECK(a.imd_warning_ohm == Approx(300e3));
  }
  {
    const auto path = dir.write("bad.toml", head + R"(
[afe.temperature]
min_temperature = "100 degC"
max_temperature = "50 degC"
[afe.gas_sensor]
free_volume_l = 0
time_constnt = "3 s"
[afe.insulation]
period = "0 s"
)");
    Diagnostics diags;
    CHECK_FALSE(config::load_pack(path, diags));
    const std::string e = diags.format();
    INFO(e);
    // Every problem, each at its key.
    CHECK_THAT(e,
               Catch::Contains("afe.temperature.max_temperature: must be above min_temperature"));
    CHECK_THAT(e, Catch::Contains("afe.gas_sensor.free_volume_l"));
    CHECK_THAT(e, Catch::Contains("time_constnt"));
    CHECK_THAT(e, Catch::Contains("afe.insulation.period"));
  }
}
