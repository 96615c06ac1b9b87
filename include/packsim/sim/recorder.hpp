#pragma once
// signals.csv: one row per recorded sample, fixed decimal formats (so equal runs give equal bytes),
// time printed exactly from the integer nanoseconds.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "packsim/sim/sample.hpp"
#include "packsim/util/output_file.hpp"

namespace packsim::sim {

class CsvRecorder {
 public:
  // Creates the file and writes the header. Returns false with a message on failure. `space`, if
  // given, is told when a write finds the disk full.
  bool open(const std::filesystem::path& path, const model::PackModel& model,
            const CellColumns& columns, std::int64_t tick_ns, std::string& error,
            OutOfSpace* space = nullptr);
  // Before open(): the load segments' labels (column segment_label; an empty label prints the
  // index) and which bms_* observables to write (bit = can::Observable, in enum order).
  void set_bms_columns(std::vector<std::string> segment_labels, std::uint32_t observed_mask) {
    segment_labels_ = std::move(segment_labels);
    observed_mask_ = observed_mask;
  }
  void write(const Sample& s);
  // Pushes buffered rows to the kernel. Returns false if a write failed (disk full, ...).
  bool flush() { return file_.flush(); }
  bool close() { return file_.close(); }
  std::uint64_t rows() const { return rows_; }
  // Rows in the file (the header not counted): after close(), or after a failure, on disk.
  std::uint64_t rows_in_file() const { return file_.lines() > 0 ? file_.lines() - 1 : 0; }
  std::uint64_t bytes() const { return file_.bytes(); }
  std::int64_t last_time_ns() const { return last_time_ns_; }
  bool failed() const { return file_.failed(); }
  std::string error_message() const { return file_.error_message(); }

 private:
  OutputFile file_;
  int time_decimals_ = 3;
  std::uint64_t rows_ = 0;
  std::int64_t last_time_ns_ = -1;
  // Per-cell blocks within Sample::cells: 0 voltage, 1 temperature, 2 soc, 3 current.
  std::vector<int> blocks_;
  std::size_t n_cells_ = 0;
  std::string line_;
  std::vector<std::string> segment_labels_;  // as CSV fields, quoted where needed
  std::uint32_t observed_mask_ = 0;
};

// Time in seconds, exactly, with `decimals` digits (0..9).
void append_time(std::string& out, std::int64_t time_ns, int decimals);
// Decimals needed to print multiples of tick_ns exactly (at least 3).
int time_decimals_for(std::int64_t tick_ns);

}  // namespace packsim::sim
