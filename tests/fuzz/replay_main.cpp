// A fuzz target's driver where libFuzzer is absent: runs LLVMFuzzerTestOneInput once per file, as
// libFuzzer runs a crash file. Arguments are files or directories (every file under them, in name
// order). Fails when it found no input at all, so a mistyped path cannot pass as a test.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "packsim/util/input_file.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int k = 1; k < argc; ++k) {
    const fs::path arg = argv[k];
    if (fs::is_directory(arg)) {
      for (const auto& e : fs::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (fs::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", arg.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string data, problem;
    if (!packsim::read_input_file(f, data, problem)) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), problem.c_str());
      return 2;
    }
    std::printf("%s (%zu bytes)\n", f.c_str(), data.size());
    std::fflush(stdout);  // the last name printed is the input that crashed
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  }
  std::printf("%zu inputs ran\n", files.size());
  return files.empty() ? 1 : 0;
}
