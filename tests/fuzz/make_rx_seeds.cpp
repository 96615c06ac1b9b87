// Seeds for the receive-path targets from candump logs (a run's can.log): each run of `per_seed`
// consecutive lines becomes one input in rx_input.hpp's format, with the times between frames.
//   make_rx_seeds OUT_DIR PER_SEED MAX_SEEDS LOG...
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "packsim/can/candump.hpp"
#include "rx_input.hpp"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s OUT_DIR PER_SEED MAX_SEEDS LOG...\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out_dir = argv[1];
  const long per_seed = std::strtol(argv[2], nullptr, 10);
  const long max_seeds = std::strtol(argv[3], nullptr, 10);
  std::filesystem::create_directories(out_dir);
  long seeds = 0;
  for (int a = 4; a < argc && seeds < max_seeds; ++a) {
    std::ifstream in(argv[a]);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", argv[a]);
      return 1;
    }
    std::string line, seed;
    long lines = 0;
    std::int64_t last_ns = -1;
    auto flush = [&] {
      if (seed.empty()) return;
      std::ofstream(out_dir / ("seed-" + std::to_string(seeds++)), std::ios::binary) << seed;
      seed.clear();
      lines = 0;
    };
    packsim::can::CandumpRecord r;
    packsim::can::CandumpError e;
    while (std::getline(in, line) && seeds < max_seeds) {
      if (!packsim::can::parse_candump_line(line, r, e)) continue;
      const std::int64_t delta = last_ns < 0 ? 0 : r.timestamp_ns - last_ns;
      last_ns = r.timestamp_ns;
      packsim::fuzz::append_rx_record(seed, delta, r.frame);
      if (++lines == per_seed) flush();
    }
    flush();
  }
  std::printf("%ld seeds in %s\n", seeds, out_dir.c_str());
  return seeds > 0 ? 0 : 1;
}
