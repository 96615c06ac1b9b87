#pragma once
// An output file written in large buffered chunks that remembers whether any write failed (a full
// disk must turn a run into a failure, not into a silently truncated file). Shared by the CSV and
// CAN log writers.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

namespace packsim {

class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() { close(); }

  bool open(const std::filesystem::path& path, std::string& error) {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) {
      error = "cannot create " + path.string() + ": " + std::strerror(errno);
      return false;
    }
    constexpr std::size_t kBuffer = 1 << 16;
    buffer_ = std::make_unique<char[]>(kBuffer);
    std::setvbuf(file_, buffer_.get(), _IOFBF, kBuffer);
    return true;
  }
  bool is_open() const { return file_ != nullptr; }
  void write(const char* data, std::size_t n) {
    if (file_ && std::fwrite(data, 1, n, file_) != n) failed_ = true;
  }
  bool flush() {
    if (file_ && std::fflush(file_) != 0) failed_ = true;
    return !failed_;
  }
  bool close() {
    if (file_) {
      if (std::fclose(file_) != 0) failed_ = true;
      file_ = nullptr;
    }
    return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> buffer_;
  bool failed_ = false;
};

}  // namespace packsim
