#pragma once
// Helpers the config tests share: a temporary folder for the files a test writes, and a frame
// sink that keeps what a protocol engine sends.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "packsim/can/protocol.hpp"

namespace packsim::test {

// A fresh folder under the system's temp directory, removed with everything in it at the end.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix) {
    path = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

struct Capture final : can::FrameSink {
  std::vector<can::CanFrame> frames;
  bool send(std::size_t /*bus*/, const can::CanFrame& f) override {
    frames.push_back(f);
    return true;
  }
};

}  // namespace packsim::test
