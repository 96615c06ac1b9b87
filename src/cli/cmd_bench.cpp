// packsim bench: cell-steps per second of the pack step on the shipped EV packs.
#include <chrono>
#include <cstdio>

#include "commands.hpp"
#include "packsim/config/loaders.hpp"
#include "packsim/config/quantity.hpp"
#include "packsim/config/toml_reader.hpp"
#include "packsim/model/pack.hpp"
#include "packsim/sim/json.hpp"

namespace packsim::cli {
namespace {

struct BenchArgs {
  // One-, two- and three-RC models; the 2RC pack is the target case.
  std::vector<std::string> packs = {"configs/ev_96s2p_nmc.toml", "configs/ev_96s2p_leaf.toml",
                                    "configs/ev_96s74p_18650.toml"};
  double seconds = 3.0;
  std::string tick = "1 ms";
  bool json = false;
  // Thermal runaway: attach the KULR 21700-K500's [runaway] section to the pack's cell type when it
  // has none (the chain's cost does not depend on the calibration), and hold this many cells,
  // spread over the pack, at 100 degC: above the activity threshold, below runaway.
  bool runaway = false;
  int hot_cells = 0;
};

struct BenchResult {
  std::string name;
  int cells = 0;
  int rc_pairs = 0;
  std::uint64_t ticks = 0;
  double wall_s = 0.0;
  int active = 0;
  std::uint64_t substeps = 0;
};

// The KULR 21700-K500 model's [runaway] section (models/kulr_21700_k500.toml), in code so that
// the bench needs no model file.
model::RunawayParams bench_runaway_params() {
  model::RunawayParams p = model::with_reaction_set({}, model::ReactionSet::kKim2007);
  p.total_heat_soc = {1.0};
  p.total_heat_j = {88.88e3};
  p.body_fraction = 0.3147;
  p.ejected_mass_kg = 36.96e-3;
  p.vent_mass_kg = 2e-3;
  p.vent_k = 150.0 + model::kZeroCelsiusK;
  p.impingement_share = 0.1;
  return p;
}

int bench(const BenchArgs& a) {
  const auto tick = config::parse_quantity(a.tick, config::Dimension::kTime);
  if (!tick.value) {
    std::fprintf(stderr, "--tick: %s\n", tick.error.c_str());
    return kExitBadInput;
  }
  const auto tick_ns = static_cast<std::int64_t>(std::llround(*tick.value * 1e9));
  std::vector<BenchResult> results;
  for (const auto& file : a.packs) {
    Diagnostics diags;
    const auto cwd = std::filesystem::current_path();
    const auto path = config::resolve_path(cwd, file);
    if (const auto problem = config::referenced_file_problem(path, cwd, file); !problem.empty()) {
      std::fprintf(stderr, "pack file '%s' %s\n", file.c_str(), problem.c_str());
      return kExitBadInput;
    }
    auto pack = config::load_pack(path, diags);
    if (!pack) {
      std::fputs(diags.format().c_str(), stderr);
      return kExitBadInput;
    }
    if (a.runaway && !pack->cell.runaway) pack->cell.runaway = bench_runaway_params();
    const model::PackModel m =
        model::build_pack_model(pack->spec, pack->cell, tick_ns, {0.9, 298.15, 1});
    model::PackData d = model::make_data(m);
    d.input.contactors = {true, true, false};
    d.input.load.mode = model::LoadMode::kCurrent;
    // A drive-like cycle, one second each: 2C discharge, 0.5C discharge, 1C charge (regen). The
    // RC pairs never settle, and the current changes sign: charge/discharge resistance tables,
    // hysteresis direction and coulombic efficiency all take both branches.
    const double one_c = pack->cell.capacity_as / 3600.0 * m.np;
    std::vector<std::size_t> hot;
    const int n_hot = a.runaway ? std::min(a.hot_cells, m.n_cells) : 0;
    hot.reserve(static_cast<std::size_t>(std::max(n_hot, 0)));
    for (int k = 0; k < n_hot; ++k)
      hot.push_back(static_cast<std::size_t>(k) * static_cast<std::size_t>(m.n_cells) /
                    static_cast<std::size_t>(n_hot));
    auto hold_hot = [&] {
      for (std::size_t c : hot) d.temp_k[c] = 100.0 + model::kZeroCelsiusK;
    };
    hold_hot();
    for (int k = 0; k < 100; ++k) model::step(m, d);  // warm up caches
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto budget = std::chrono::duration<double>(a.seconds);
    std::uint64_t ticks = 0;
    const std::uint64_t per_second =
        static_cast<std::uint64_t>(std::max<std::int64_t>(1, 1'000'000'000 / tick_ns));
    while (Clock::now() - start < budget) {
      for (int k = 0; k < 64; ++k, ++ticks) {
        constexpr double kCycleC[] = {2.0, 0.5, -1.0};
        d.input.load.current_a = kCycleC[(ticks / per_second) % 3] * one_c;
        model::step(m, d);
      }
      hold_hot();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    results.push_back(
        {m.name, m.n_cells, m.rc_pairs, ticks, wall, d.runaway.n_active, d.runaway.substeps});
  }
  if (a.json) {
    sim::JsonWriter j;
    j.begin_array();
    for (const auto& r : results) {
      const double cell_steps = static_cast<double>(r.ticks) * r.cells;
      j.begin_object();
      j.field("pack", r.name)
          .field("cells", r.cells)
          .field("rc_pairs", r.rc_pairs)
          .field("ticks", r.ticks);
      j.field("cell_steps_per_s", cell_steps / r.wall_s);
      j.field("ns_per_cell_step", r.wall_s * 1e9 / cell_steps);
      j.field("tick_s", static_cast<double>(tick_ns) * 1e-9);
      j.field("runaway", a.runaway).field("runaway_active_cells", r.active);
      j.field("runaway_substeps", r.substeps);
      j.field("realtime_factor",
              static_cast<double>(r.ticks) * static_cast<double>(tick_ns) * 1e-9 / r.wall_s);
      j.end_object();
    }
    j.end_array();
    std::fputs(j.str().c_str(), stdout);
  } else {
    std::printf("%-36s %7s %4s %10s %16s %14s %12s\n", "pack", "cells", "RC", "ticks",
                "cell-steps/s", "ns/cell-step", "x real time");
    for (const auto& r : results) {
      const double cell_steps = static_cast<double>(r.ticks) * r.cells;
      std::printf("%-36s %7d %4d %10llu %16.4g %14.2f %12.1f\n", r.name.c_str(), r.cells,
                  r.rc_pairs, static_cast<unsigned long long>(r.ticks), cell_steps / r.wall_s,
                  r.wall_s * 1e9 / cell_steps,
                  static_cast<double>(r.ticks) * static_cast<double>(tick_ns) * 1e-9 / r.wall_s);
    }
  }
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* sub =
      app.add_subcommand("bench", "Measure pack-step throughput (cell-steps per second)");
  sub->add_option("--pack", args->packs,
                  "Pack files (default: the 96s2p NMC, 96s2p Leaf and 96s74p EV packs)");
  sub->add_option("--seconds", args->seconds, "Wall time per pack")
      ->check(finite_range(0.01, 3600.0));
  sub->add_option("--tick", args->tick, "Tick length");
  sub->add_flag("--json", args->json, "One JSON object per pack");
  sub->add_flag("--runaway", args->runaway,
                "With the thermal-runaway chain (the KULR 21700-K500's parameters if the cell has "
                "none)");
  sub->add_option("--hot-cells", args->hot_cells,
                  "With --runaway: cells held at 100 degC (active in the chain)")
      ->check(CLI::Range(0, 1'000'000));
  sub->callback([args, &ctx]() { ctx.exit_code = bench(*args); });
}

}  // namespace packsim::cli
