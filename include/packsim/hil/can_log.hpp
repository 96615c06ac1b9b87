#pragma once
// CAN log in candump's `-l` format (packsim/can/candump.hpp), which can-utils' canplayer,
// python-can and SavvyCAN read. With a size limit the log rotates like logrotate's numbered
// files: when the next line would take can.log past the limit, can.log becomes can.log.1,
// can.log.1 becomes can.log.2 and so on, the oldest beyond `keep` is deleted, and a new can.log
// starts. Rotation happens between lines, so every file is a candump log of its own, and the
// files together hold at most (keep + 1) x the limit.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "packsim/can/candump.hpp"
#include "packsim/can/frame.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::hil {

struct CanLogLimits {
  std::uint64_t max_bytes = 0;  // per file; 0: one file without a limit
  int keep = 3;                 // rotated files kept besides the current one
};

class CanLogWriter {
 public:
  bool open(const std::filesystem::path& path, const CanLogLimits& limits, std::string& error,
            OutOfSpace* space = nullptr);
  bool open(const std::filesystem::path& path, std::string& error) {
    return open(path, CanLogLimits{}, error);
  }
  // Never allocates, except when the log rotates (file names are made at open()).
  void write(std::int64_t timestamp_ns, std::string_view iface, const can::CanFrame& frame);
  bool flush() { return failed() ? false : file_.flush(); }
  bool close();
  bool is_open() const { return file_.is_open(); }
  bool failed() const { return file_.failed() || !error_.empty(); }
  // "out/x/can.log: no space left on device (ENOSPC) after 123 bytes"; empty without a failure.
  std::string error_message() const;

  std::uint64_t lines() const { return lines_; }  // frames handed to the log, every file counted

  struct FileReport {
    std::filesystem::path path;
    std::uint64_t bytes = 0;
    std::uint64_t frames = 0;
  };
  // The files on disk, oldest first (can.log.N ... can.log.1, can.log): concatenated in this
  // order they are the log's tail.
  std::vector<FileReport> files() const;
  std::uint64_t rotations() const { return rotations_; }
  // Whole files deleted to keep the limit, and what they held.
  std::uint64_t deleted_files() const { return deleted_files_; }
  std::uint64_t deleted_bytes() const { return deleted_bytes_; }
  std::uint64_t deleted_frames() const { return deleted_frames_; }
  const CanLogLimits& limits() const { return limits_; }

 private:
  void rotate();

  OutputFile file_;
  OutOfSpace* space_ = nullptr;
  CanLogLimits limits_;
  std::vector<std::filesystem::path> paths_;  // [0] the current file, [k] can.log.k
  struct Kept {
    std::uint64_t bytes = 0;
    std::uint64_t frames = 0;
  };
  std::vector<Kept> kept_;   // [k] for paths_[k], k >= 1
  std::size_t present_ = 0;  // files on disk, the current one included
  std::uint64_t lines_ = 0;
  std::uint64_t rotations_ = 0;
  std::uint64_t deleted_files_ = 0;
  std::uint64_t deleted_bytes_ = 0;
  std::uint64_t deleted_frames_ = 0;
  std::string error_;  // a rotation that could not rename or reopen
};

}  // namespace packsim::hil
