#include "packsim/hil/can_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace packsim::hil {

bool CanLogWriter::open(const std::filesystem::path& path, const CanLogLimits& limits,
                        std::string& error, OutOfSpace* space) {
  limits_ = limits;
  if (limits_.max_bytes == 0) limits_.keep = 0;
  limits_.keep = std::max(0, limits_.keep);
  space_ = space;
  paths_.assign(1, path);
  for (int k = 1; k <= limits_.keep; ++k) paths_.push_back(path.string() + "." + std::to_string(k));
  kept_.assign(paths_.size(), Kept{});
  present_ = 1;
  lines_ = rotations_ = deleted_files_ = deleted_bytes_ = deleted_frames_ = 0;
  error_.clear();
  return file_.open(path, error, space);
}

void CanLogWriter::write(std::int64_t timestamp_ns, std::string_view iface,
                         const can::CanFrame& frame) {
  if (!file_.is_open() || failed()) return;
  char line[can::kCandumpLineMax];
  const std::size_t n = can::format_candump(line, timestamp_ns, iface, frame);
  if (limits_.max_bytes > 0 && file_.bytes() > 0 && file_.bytes() + n > limits_.max_bytes) {
    rotate();
    if (failed()) return;
  }
  file_.write(line, n);
  ++lines_;
}

void CanLogWriter::rotate() {
  const Kept current{file_.bytes(), file_.lines()};
  if (!file_.close()) return;  // file_ keeps the error
  // can.log.(k) -> can.log.(k+1) from the oldest kept down; the rename onto the last name deletes
  // the oldest file when all are there.
  const std::size_t keep = paths_.size() - 1;
  if (keep == 0) {
    deleted_files_ += 1;
    deleted_bytes_ += current.bytes;
    deleted_frames_ += current.frames;
  } else {
    if (present_ == keep + 1) {
      deleted_files_ += 1;
      deleted_bytes_ += kept_[keep].bytes;
      deleted_frames_ += kept_[keep].frames;
    }
    for (std::size_t k = std::min(present_, keep); k >= 1; --k) {
      if (std::rename(paths_[k - 1].c_str(), paths_[k].c_str()) != 0) {
        error_ = paths_[k - 1].string() + ": cannot rename it to " + paths_[k].filename().string() +
                 " to rotate the log: " + errno_text(errno);
        return;
      }
      kept_[k] = k == 1 ? current : kept_[k - 1];
    }
    present_ = std::min(present_ + 1, keep + 1);
  }
  ++rotations_;
  std::string error;
  if (!file_.open(paths_[0], error, space_)) error_ = error;
}

bool CanLogWriter::close() {
  const bool ok = file_.close();
  return ok && error_.empty();
}

std::string CanLogWriter::error_message() const {
  if (file_.failed()) return file_.error_message();
  return error_;
}

std::vector<CanLogWriter::FileReport> CanLogWriter::files() const {
  std::vector<FileReport> out;
  if (paths_.empty()) return out;
  for (std::size_t k = present_ - 1; k >= 1; --k)
    out.push_back({paths_[k], kept_[k].bytes, kept_[k].frames});
  out.push_back({paths_[0], file_.bytes(), file_.lines()});
  return out;
}

}  // namespace packsim::hil
