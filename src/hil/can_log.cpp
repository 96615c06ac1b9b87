#include "packsim/hil/can_log.hpp"

#include <cstdio>

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

void CanLogWriter::write(std::int64_t timestamp_ns, const char* iface, const can::CanFrame& frame) {
  if (!file_.is_open()) return;
  char line[kCandumpLineMax];
  file_.write(line, format_candump(line, timestamp_ns, iface, frame));
  ++lines_;
}

}  // namespace packsim::hil
