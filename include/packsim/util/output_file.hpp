#pragma once
// Output files of a run that cannot fail silently and stay readable when they fail.
//
// OutputFile: a line-oriented file written in large chunks with write(2). A failed write is kept
// with its errno and the file is cut back to its last whole line, so a truncated signals.csv or
// can.log still parses. ReservedFile: a small file (summary.json, refbms.json) whose space is
// claimed when the run starts, so that its final content can be written when the disk has filled
// up in between. OutOfSpace: the first output that finds the disk full releases the space held
// back for the end of the run, so every output can still be flushed, and says which file it was.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace packsim {

// The errno in words and by name: "no space left on device (ENOSPC)".
std::string errno_text(int code);
// ENOSPC or EDQUOT: no room, which space held back can cure (EFBIG, EROFS or EIO it cannot).
bool is_out_of_space(int code);

class ReservedFile {
 public:
  ReservedFile() = default;
  ReservedFile(const ReservedFile&) = delete;
  ReservedFile& operator=(const ReservedFile&) = delete;
  ~ReservedFile();

  // Creates `path` holding `placeholder` padded with spaces to content_bytes + spare_bytes (a JSON
  // placeholder stays valid: trailing whitespace is allowed). On failure the file is removed and
  // `error` names it and the cause.
  bool create(const std::filesystem::path& path, std::string_view placeholder,
              std::size_t content_bytes, std::size_t spare_bytes, std::string& error);
  // Gives the spare bytes back to the file system. True when this call released them; any
  // thread, once.
  bool release_spare();
  // Writes the final content in place (padded with spaces until it is cut to length, so the file
  // is valid JSON at every step), then truncates it to the content. Without a reservation the file
  // is created now. On failure a file that would be left half-written is removed.
  bool commit(std::string_view content, std::string& error);

  bool is_open() const { return fd_ >= 0; }
  std::size_t reserved_bytes() const { return content_bytes_ + spare_bytes_; }
  std::size_t content_bytes() const { return content_bytes_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void close_fd();

  int fd_ = -1;
  std::filesystem::path path_;
  std::size_t content_bytes_ = 0;
  std::size_t spare_bytes_ = 0;
  std::atomic<std::size_t> size_{0};  // the file's size as written
  std::atomic<bool> spare_held_{false};
};

// The first out-of-space failure of a run's outputs. Shared by the outputs of one run, written from
// whichever thread writes them.
class OutOfSpace {
 public:
  explicit OutOfSpace(ReservedFile* spare = nullptr) : spare_(spare) {}
  // An output's write found no room (is_out_of_space(code)), with `bytes` in the file. Returns
  // true when the spare was released now: the write is worth one more try. The tick thread only
  // reads tripped().
  bool report(const std::filesystem::path& path, int code, std::uint64_t bytes);
  bool tripped() const { return tripped_.load(std::memory_order_acquire); }
  int code() const;
  // "out/x/can.log: no space left on device (ENOSPC) after 123 bytes"; empty when not tripped.
  std::string message() const;
  std::string path() const;

 private:
  ReservedFile* spare_;
  std::atomic<bool> claimed_{false};  // the first report owns the fields below
  std::atomic<bool> tripped_{false};  // published after them: readers see them filled in
  std::string path_;
  int code_ = 0;
  std::uint64_t bytes_ = 0;
};

// A text file written by whole lines: each write() call must end at a line end.
class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() { close(); }

  // Creates (truncates) `path`. `space`, if given, is told when a write finds the disk full.
  bool open(const std::filesystem::path& path, std::string& error, OutOfSpace* space = nullptr);
  // Appends whole lines. Never allocates; after a failure it does nothing.
  void write(const char* data, std::size_t n);
  // Pushes buffered lines to the kernel. False once any write failed.
  bool flush();
  bool close();

  bool is_open() const { return fd_ >= 0; }
  bool failed() const { return error_ != 0; }
  int error_code() const { return error_; }
  // Bytes and lines of this file: on disk plus buffered; after a failure, what is on disk.
  std::uint64_t bytes() const { return disk_bytes_ + used_; }
  std::uint64_t lines() const { return disk_lines_ + buffered_lines_; }
  const std::filesystem::path& path() const { return path_; }
  // "out/x/can.log: no space left on device (ENOSPC) after 123 bytes"; empty without a failure.
  std::string error_message() const;

 private:
  bool write_out(const char* data, std::size_t n, std::uint64_t lines);
  void fail(int code, const char* chunk, std::size_t written);

  int fd_ = -1;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
  std::uint64_t buffered_lines_ = 0;
  std::uint64_t disk_bytes_ = 0;
  std::uint64_t disk_lines_ = 0;
  int error_ = 0;
  std::filesystem::path path_;
  OutOfSpace* space_ = nullptr;
};

}  // namespace packsim
