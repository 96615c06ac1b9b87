#pragma once
// CAN log in candump's `-l` format (packsim/can/candump.hpp), which can-utils' canplayer,
// python-can and SavvyCAN read.

#include <cstdint>
#include <filesystem>
#include <string>

#include "packsim/can/candump.hpp"
#include "packsim/can/frame.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::hil {

class CanLogWriter {
 public:
  bool open(const std::filesystem::path& path, std::string& error, OutOfSpace* space = nullptr) {
    return file_.open(path, error, space);
  }
  void write(std::int64_t timestamp_ns, const char* iface, const can::CanFrame& frame);
  bool flush() { return file_.flush(); }
  bool close() { return file_.close(); }
  bool is_open() const { return file_.is_open(); }
  std::uint64_t lines() const { return lines_; }  // frames handed to the log
  bool failed() const { return file_.failed(); }
  // "out/x/can.log: no space left on device (ENOSPC) after 123 bytes"; empty without a failure.
  std::string error_message() const { return file_.error_message(); }
  // Frames and bytes in the file: after close(), or after a failure, on disk.
  std::uint64_t frames_in_file() const { return file_.lines(); }
  std::uint64_t bytes() const { return file_.bytes(); }

 private:
  OutputFile file_;
  std::uint64_t lines_ = 0;
};

}  // namespace packsim::hil
