#include "packsim/util/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace packsim {
namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 16;

// write(2) until done; false with errno set (EIO for a write that makes no progress).
bool write_all(int fd, const char* data, std::size_t n, std::size_t& done) {
  done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd, data + done, n - done);
    if (w > 0) {
      done += static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      if (w == 0) errno = EIO;
      return false;
    }
  }
  return true;
}

bool pwrite_all(int fd, const char* data, std::size_t n, std::size_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
    if (w > 0) {
      done += static_cast<std::size_t>(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      if (w == 0) errno = EIO;
      return false;
    }
  }
  return true;
}

// Spaces from `offset` to `end`, in chunks.
bool write_spaces(int fd, std::size_t offset, std::size_t end) {
  char spaces[4096];
  std::memset(spaces, ' ', sizeof spaces);
  while (offset < end) {
    const std::size_t n = std::min(sizeof spaces, end - offset);
    if (!pwrite_all(fd, spaces, n, offset)) return false;
    offset += n;
  }
  return true;
}

std::string bytes_text(std::uint64_t bytes) {
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

}  // namespace

std::string errno_text(int code) {
  const char* desc = strerrordesc_np(code);
  const char* name = strerrorname_np(code);
  std::string out = desc ? desc : "error " + std::to_string(code);
  // "No space left on device" reads as part of a sentence in lower case; names stay as they are.
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && (out.size() < 2 || out[1] > 'Z'))
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  if (name) out += std::string(" (") + name + ")";
  return out;
}

bool is_out_of_space(int code) { return code == ENOSPC || code == EDQUOT; }

// ReservedFile

ReservedFile::~ReservedFile() { close_fd(); }

void ReservedFile::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool ReservedFile::create(const std::filesystem::path& path, std::string_view placeholder,
                          std::size_t content_bytes, std::size_t spare_bytes, std::string& error) {
  close_fd();
  path_ = path;
  content_bytes_ = std::max(content_bytes, placeholder.size() + 1);
  spare_bytes_ = spare_bytes;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    error = "cannot create " + path.string() + ": " + errno_text(errno);
    return false;
  }
  const std::size_t total = content_bytes_ + spare_bytes_;
  // Spaces, then the placeholder over their start: the file is never a broken JSON text.
  if (!write_spaces(fd_, 0, total - 1) || !pwrite_all(fd_, "\n", 1, total - 1) ||
      !pwrite_all(fd_, placeholder.data(), placeholder.size(), 0)) {
    const int code = errno;
    error = path.string() + ": " + errno_text(code) + " reserving " + bytes_text(total);
    close_fd();
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return false;
  }
  size_.store(total, std::memory_order_relaxed);
  spare_held_.store(spare_bytes_ > 0, std::memory_order_release);
  return true;
}

bool ReservedFile::release_spare() {
  if (fd_ < 0 || !spare_held_.exchange(false, std::memory_order_acq_rel)) return false;
  // Cutting the padding short frees its blocks; the placeholder before it stays whole.
  if (::ftruncate(fd_, static_cast<off_t>(content_bytes_)) != 0) return false;
  size_.store(content_bytes_, std::memory_order_relaxed);
  return true;
}

bool ReservedFile::commit(std::string_view content, std::string& error) {
  bool created_now = false;
  if (fd_ < 0) {
    if (path_.empty()) {
      error = "no file to write";
      return false;
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      error = "cannot create " + path_.string() + ": " + errno_text(errno);
      return false;
    }
    created_now = true;
  }
  const std::size_t size = size_.load(std::memory_order_relaxed);
  bool ok = true;
  // Grow first, with spaces at the end: the old text stays valid until the new one is in place.
  if (content.size() > size) ok = write_spaces(fd_, size, content.size());
  const bool overwriting = ok;  // from here on a failure may leave neither text whole
  if (ok) ok = pwrite_all(fd_, content.data(), content.size(), 0);
  if (ok && size > content.size()) {
    // Overwrite what is left of the old text before cutting it off: if the truncation failed,
    // the file would still be this content followed by whitespace.
    ok = write_spaces(fd_, content.size(), size);
    if (ok && ::ftruncate(fd_, static_cast<off_t>(content.size())) != 0) ok = false;
  }
  const int code = errno;
  if (ok) {
    size_.store(content.size(), std::memory_order_relaxed);
    spare_held_.store(false, std::memory_order_relaxed);
    if (::close(fd_) != 0) {
      fd_ = -1;
      error = path_.string() + ": " + errno_text(errno);
      return false;
    }
    fd_ = -1;
    return true;
  }
  error = path_.string() + ": " + errno_text(code) + " writing " + bytes_text(content.size()) +
          (size > 0 && content.size() > size
               ? " (more than the " + bytes_text(size) + " reserved for it)"
               : std::string());
  close_fd();
  // A file that holds neither the old text nor the new one would be worse than none; a
  // placeholder that could not grow stays (it says the run did not write its summary).
  if (created_now || overwriting) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  return false;
}

// OutOfSpace

bool OutOfSpace::report(const std::filesystem::path& path, int code, std::uint64_t bytes) {
  if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
  path_ = path.string();
  code_ = code;
  bytes_ = bytes;
  tripped_.store(true, std::memory_order_release);
  return spare_ && spare_->release_spare();
}

int OutOfSpace::code() const { return tripped() ? code_ : 0; }

std::string OutOfSpace::path() const { return tripped() ? path_ : std::string(); }

std::string OutOfSpace::message() const {
  if (!tripped()) return {};
  return path_ + ": " + errno_text(code_) + " after " + bytes_text(bytes_);
}

// OutputFile

bool OutputFile::open(const std::filesystem::path& path, std::string& error, OutOfSpace* space) {
  close();
  path_ = path;
  space_ = space;
  error_ = 0;
  used_ = 0;
  buffered_lines_ = 0;
  disk_bytes_ = 0;
  disk_lines_ = 0;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    error = "cannot create " + path.string() + ": " + errno_text(errno);
    return false;
  }
  if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferBytes);
  return true;
}

void OutputFile::write(const char* data, std::size_t n) {
  if (fd_ < 0 || error_ != 0 || n == 0) return;
  const auto lines = static_cast<std::uint64_t>(std::count(data, data + n, '\n'));
  if (used_ + n > kBufferBytes) {
    if (!flush()) return;
    if (n > kBufferBytes) {  // a row wider than the buffer goes out as it is
      write_out(data, n, lines);
      return;
    }
  }
  std::memcpy(buffer_.get() + used_, data, n);
  used_ += n;
  buffered_lines_ += lines;
}

bool OutputFile::flush() {
  if (fd_ < 0 || error_ != 0) return error_ == 0;
  if (used_ == 0) return true;
  const std::size_t n = used_;
  const std::uint64_t lines = buffered_lines_;
  used_ = 0;
  buffered_lines_ = 0;
  return write_out(buffer_.get(), n, lines);
}

bool OutputFile::write_out(const char* data, std::size_t n, std::uint64_t lines) {
  std::size_t done = 0;
  bool retried = false;
  for (;;) {
    std::size_t more = 0;
    if (write_all(fd_, data + done, n - done, more)) break;
    done += more;
    const int code = errno;
    // The first output to find the disk full releases the space held back and tries again: the
    // run is stopping, and what it holds must still reach the disk.
    if (!retried && is_out_of_space(code) && space_ &&
        space_->report(path_, code, disk_bytes_ + done)) {
      retried = true;
      continue;
    }
    fail(code, data, done);
    return false;
  }
  disk_bytes_ += n;
  disk_lines_ += lines;
  return true;
}

void OutputFile::fail(int code, const char* chunk, std::size_t written) {
  // Keep whole lines only: a reader of the file must not meet half a row.
  std::size_t keep = written;
  while (keep > 0 && chunk[keep - 1] != '\n') --keep;
  disk_bytes_ += keep;
  disk_lines_ += static_cast<std::uint64_t>(std::count(chunk, chunk + keep, '\n'));
  if (keep != written) (void)::ftruncate(fd_, static_cast<off_t>(disk_bytes_));
  error_ = code;
  used_ = 0;
  buffered_lines_ = 0;
}

bool OutputFile::close() {
  if (fd_ < 0) return error_ == 0;
  flush();
  if (::close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  return error_ == 0;
}

std::string OutputFile::error_message() const {
  if (error_ == 0) return {};
  return path_.string() + ": " + errno_text(error_) + " after " + bytes_text(disk_bytes_);
}

}  // namespace packsim
