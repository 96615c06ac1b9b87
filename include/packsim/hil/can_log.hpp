#pragma once
// CAN log in candump's `-l` format, `(1712345678.123456) can0 123#DEADBEEF`, which can-utils'
// canplayer, python-can and SavvyCAN read. CAN FD frames are `123##<flags><data>`, remote frames
// `123#R`, error frames carry the error flag in an 8-digit id like candump prints them.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "packsim/can/frame.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::hil {

// Formats one line (with the trailing newline) into `out`; returns its length. `out` must hold
// kCandumpLineMax bytes.
inline constexpr std::size_t kCandumpLineMax = 64 + 2 * can::kFdMaxLen + 32;
std::size_t format_candump(char* out, std::int64_t timestamp_ns, const char* iface,
                           const can::CanFrame& frame);

class CanLogWriter {
 public:
  bool open(const std::filesystem::path& path, std::string& error) {
    return file_.open(path, error);
  }
  void write(std::int64_t timestamp_ns, const char* iface, const can::CanFrame& frame);
  bool flush() { return file_.flush(); }
  bool close() { return file_.close(); }
  std::uint64_t lines() const { return lines_; }
  bool failed() const { return file_.failed(); }

 private:
  OutputFile file_;
  std::uint64_t lines_ = 0;
};

}  // namespace packsim::hil
