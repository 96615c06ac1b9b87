#pragma once
// CAN log in candump's `-l` format (packsim/can/candump.hpp), which can-utils' canplayer,
// python-can and SavvyCAN read.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "packsim/can/candump.hpp"
#include "packsim/can/frame.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::hil {

class CanLogWriter {
 public:
  bool open(const std::filesystem::path& path, std::string& error) {
    return file_.open(path, error);
  }
  void write(std::int64_t timestamp_ns, std::string_view iface, const can::CanFrame& frame);
  bool flush() { return file_.flush(); }
  bool close() { return file_.close(); }
  std::uint64_t lines() const { return lines_; }
  bool failed() const { return file_.failed(); }

 private:
  OutputFile file_;
  std::uint64_t lines_ = 0;
};

}  // namespace packsim::hil
