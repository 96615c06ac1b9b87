#include "packsim/hil/can_log.hpp"

#include <cerrno>
#include <cstring>

namespace packsim::hil {
namespace {
constexpr char kHex[] = "0123456789ABCDEF";
constexpr std::uint32_t kErrorFlag = 0x20000000u;  // CAN_ERR_FLAG, as candump prints it
}  // namespace

std::size_t format_candump(char* out, std::int64_t timestamp_ns, const char* iface,
                           const can::CanFrame& f) {
  const std::int64_t sec = timestamp_ns / 1'000'000'000;
  const std::int64_t usec = (timestamp_ns % 1'000'000'000) / 1000;
  int n = std::snprintf(out, kCandumpLineMax, "(%010lld.%06lld) %s ", static_cast<long long>(sec),
                        static_cast<long long>(usec), iface);
  if (n < 0) return 0;
  auto p = static_cast<std::size_t>(n);
  auto put_hex = [&](std::uint32_t v, int digits) {
    for (int d = digits - 1; d >= 0; --d) out[p++] = kHex[(v >> (4 * d)) & 0xF];
  };
  if (f.error) {
    put_hex(f.id | kErrorFlag, 8);
  } else {
    put_hex(f.id, f.extended ? 8 : 3);
  }
  out[p++] = '#';
  if (f.fd) {
    out[p++] = '#';
    out[p++] = kHex[(f.brs ? 1 : 0) | (f.esi ? 2 : 0)];
  } else if (f.rtr) {
    out[p++] = 'R';
    if (f.len > 0) out[p++] = kHex[f.len & 0xF];
  }
  if (!f.rtr) {
    for (std::size_t i = 0; i < f.len; ++i) {
      out[p++] = kHex[f.data[i] >> 4];
      out[p++] = kHex[f.data[i] & 0xF];
    }
  }
  out[p++] = '\n';
  return p;
}

CanLogWriter::~CanLogWriter() { close(); }

bool CanLogWriter::open(const std::filesystem::path& path, std::string& error) {
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

void CanLogWriter::write(std::int64_t timestamp_ns, const char* iface, const can::CanFrame& frame) {
  if (!file_) return;
  char line[kCandumpLineMax];
  const std::size_t n = format_candump(line, timestamp_ns, iface, frame);
  if (std::fwrite(line, 1, n, file_) != n) failed_ = true;
  ++lines_;
}

bool CanLogWriter::flush() {
  if (file_ && std::fflush(file_) != 0) failed_ = true;
  return !failed_;
}

bool CanLogWriter::close() {
  if (file_) {
    if (std::fclose(file_) != 0) failed_ = true;
    file_ = nullptr;
  }
  return !failed_;
}

}  // namespace packsim::hil
