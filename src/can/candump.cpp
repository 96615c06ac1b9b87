#include "packsim/can/candump.hpp"

#include <algorithm>
#include <cstdio>

namespace packsim::can {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool is_name_char(char c) { return c > ' ' && c < 0x7F && c != '/' && c != ':' && c != '#'; }

// Cursor over the line; columns are 1-based for messages.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  int column() const { return static_cast<int>(i) + 1; }
  void skip_space() {
    while (!done() && is_space(s[i])) ++i;
  }
  std::string_view token() {
    const std::size_t b = i;
    while (!done() && !is_space(s[i])) ++i;
    return s.substr(b, i - b);
  }
};

bool fail(CandumpError& e, int column, std::string message) {
  e.column = column;
  e.message = std::move(message);
  return false;
}

// `(sec.frac)`: seconds and up to nine fraction digits, as int64 nanoseconds.
bool parse_timestamp(Cursor& c, std::int64_t& ns, CandumpError& e) {
  const int col = c.column();
  ++c.i;  // '('
  std::int64_t sec = 0;
  int digits = 0;
  bool overflow = false;
  while (!c.done() && c.peek() >= '0' && c.peek() <= '9') {
    // Keep reading the digits: the message names the whole timestamp, not where it overflowed.
    overflow = overflow || __builtin_mul_overflow(sec, 10, &sec) ||
               __builtin_add_overflow(sec, c.peek() - '0', &sec);
    ++c.i;
    ++digits;
  }
  if (digits == 0 || c.peek() != '.') {
    return fail(e, c.column(), "malformed timestamp; expected (seconds.fraction)");
  }
  ++c.i;
  std::int64_t frac = 0;
  int frac_digits = 0;
  while (!c.done() && c.peek() >= '0' && c.peek() <= '9') {
    if (frac_digits == 9) return fail(e, c.column(), "timestamp has more than 9 fraction digits");
    frac = frac * 10 + (c.peek() - '0');
    ++c.i;
    ++frac_digits;
  }
  if (frac_digits == 0 || c.peek() != ')') {
    return fail(e, c.column(), "malformed timestamp; expected (seconds.fraction)");
  }
  ++c.i;
  for (int k = frac_digits; k < 9; ++k) frac *= 10;
  if (overflow || __builtin_mul_overflow(sec, std::int64_t{1'000'000'000}, &ns) ||
      __builtin_add_overflow(ns, frac, &ns)) {
    return fail(e, col, "timestamp out of range; expected at most 9223372036.854775807 seconds");
  }
  return true;
}

// Reads hex byte pairs (optionally separated by '.') starting at frame[pos]; `base_col` is the
// column of frame[0].
bool parse_payload(std::string_view frame, std::size_t pos, std::size_t max_len, int base_col,
                   CanFrame& f, CandumpError& e) {
  std::size_t n = 0;
  while (pos < frame.size()) {
    if (frame[pos] == '.') {
      ++pos;
      continue;
    }
    if (frame[pos] == '_' && !f.fd && n == kClassicMaxLen && pos + 2 == frame.size() &&
        hex_value(frame[pos + 1]) > 8) {
      f.len = static_cast<std::uint8_t>(n);
      return true;  // len8_dlc suffix: raw DLC 9..15 of a classic 8-byte frame
    }
    const int hi = hex_value(frame[pos]);
    const int lo = pos + 1 < frame.size() ? hex_value(frame[pos + 1]) : -1;
    if (hi < 0 || lo < 0) {
      return fail(e, base_col + static_cast<int>(pos),
                  "expected a data byte (two hex digits) or '.'");
    }
    if (n == max_len) {
      return fail(e, base_col + static_cast<int>(pos),
                  "payload longer than " + std::to_string(max_len) + " bytes");
    }
    f.data[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
    pos += 2;
  }
  f.len = static_cast<std::uint8_t>(n);
  return true;
}

bool parse_frame(std::string_view t, int base_col, CanFrame& f, CandumpError& e) {
  f = CanFrame{};
  const std::size_t hash = t.find('#');
  if (hash == std::string_view::npos) {
    return fail(e, base_col, "expected a frame ID#DATA, ID#R or ID##FLAGS DATA");
  }
  if (hash != 3 && hash != 8) {
    return fail(
        e, base_col,
        "CAN id must have 3 hex digits (standard) or 8 (extended); found " + std::to_string(hash));
  }
  std::uint32_t id = 0;
  for (std::size_t k = 0; k < hash; ++k) {
    const int v = hex_value(t[k]);
    if (v < 0) return fail(e, base_col + static_cast<int>(k), "CAN id is not hexadecimal");
    id = id * 16 + static_cast<std::uint32_t>(v);
  }
  if (hash == 3) {
    if (id > kStandardIdMask) return fail(e, base_col, "standard CAN id above 0x7FF");
    f.id = id;
  } else if ((id & kCanErrorFlag) != 0) {
    f.error = true;
    f.id = id & kExtendedIdMask;
  } else {
    if (id > kExtendedIdMask) return fail(e, base_col, "extended CAN id above 0x1FFFFFFF");
    f.id = id;
    f.extended = true;
  }
  std::size_t pos = hash + 1;
  if (pos < t.size() && t[pos] == '#') {  // CAN FD
    ++pos;
    // One hex digit of canfd_frame.flags: 1 = BRS, 2 = ESI; newer kernels also set 4 (FDF),
    // which candump prints and canplayer accepts.
    const int flags = pos < t.size() ? hex_value(t[pos]) : -1;
    if (flags < 0) {
      return fail(e, base_col + static_cast<int>(pos),
                  "expected the CAN FD flags digit (hex: 1 = BRS, 2 = ESI, 4 = FDF) after ##");
    }
    f.fd = true;
    f.brs = (flags & 1) != 0;
    f.esi = (flags & 2) != 0;
    if (!parse_payload(t, pos + 1, kFdMaxLen, base_col, f, e)) return false;
    f.len = fd_padded_len(f.len);  // bytes beyond the parsed ones stay zero
    return true;
  }
  if (pos < t.size() && (t[pos] == 'R' || t[pos] == 'r')) {
    f.rtr = true;
    ++pos;
    if (pos < t.size()) {
      const int len = hex_value(t[pos]);
      if (len < 0 || len > 8 || pos + 1 != t.size()) {
        return fail(e, base_col + static_cast<int>(pos),
                    "expected a remote frame length 0-8 after R");
      }
      f.len = static_cast<std::uint8_t>(len);
    }
    return true;
  }
  return parse_payload(t, pos, kClassicMaxLen, base_col, f, e);
}

}  // namespace

std::size_t format_frame(char* out, const CanFrame& f) {
  std::size_t p = 0;
  auto put_hex = [&](std::uint32_t v, int digits) {
    for (int d = digits - 1; d >= 0; --d) out[p++] = kHex[(v >> (4 * d)) & 0xF];
  };
  if (f.error) {
    put_hex(f.id | kCanErrorFlag, 8);
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
  out[p] = '\0';
  return p;
}

std::size_t format_candump(char* out, std::int64_t timestamp_ns, std::string_view iface,
                           const CanFrame& f) {
  const std::int64_t t = timestamp_ns < 0 ? 0 : timestamp_ns;
  const std::int64_t sec = t / 1'000'000'000;
  const std::int64_t usec = (t % 1'000'000'000) / 1000;
  // sec < 10^10 (int64 nanoseconds), so this takes at most 20 bytes.
  const int n = std::snprintf(out, kCandumpLineMax, "(%010lld.%06lld) ",
                              static_cast<long long>(sec), static_cast<long long>(usec));
  auto p = static_cast<std::size_t>(n < 0 ? 0 : n);
  const std::size_t len = std::min(iface.size(), kInterfaceNameMax);
  if (len == 0) out[p++] = '-';
  for (std::size_t k = 0; k < len; ++k) out[p++] = is_name_char(iface[k]) ? iface[k] : '_';
  out[p++] = ' ';
  p += format_frame(out + p, f);
  out[p++] = '\n';
  return p;
}

bool is_valid_interface_name(std::string_view name) {
  if (name.empty() || name.size() > kInterfaceNameMax) return false;
  return std::all_of(name.begin(), name.end(), is_name_char);
}

bool parse_candump_line(std::string_view line, CandumpRecord& out, CandumpError& error) {
  out = CandumpRecord{};
  Cursor c{line};
  c.skip_space();
  if (c.done()) return fail(error, 1, "empty line; expected a frame");
  if (c.peek() == '(') {
    if (!parse_timestamp(c, out.timestamp_ns, error)) return false;
    out.has_timestamp = true;
    c.skip_space();
    const int iface_col = c.column();
    const std::string_view iface = c.token();
    if (iface.empty() || iface.find('#') != std::string_view::npos) {
      return fail(error, iface_col, "expected an interface name after the timestamp");
    }
    if (!is_valid_interface_name(iface)) {
      return fail(error, iface_col,
                  "interface name is not 1 to " + std::to_string(kInterfaceNameMax) +
                      " printable ASCII characters; expected a name like can0 (no '/', ':' or "
                      "'#')");
    }
    out.iface = std::string(iface);
    c.skip_space();
  }
  const int frame_col = c.column();
  const std::string_view frame = c.token();
  if (frame.empty()) return fail(error, frame_col, "expected a frame after the interface name");
  if (!parse_frame(frame, frame_col, out.frame, error)) return false;
  c.skip_space();
  if (!c.done()) {
    // candump -x marks the direction with a trailing T (sent) or R (received).
    const int col = c.column();
    const std::string_view dir = c.token();
    c.skip_space();
    if ((dir != "T" && dir != "R") || !c.done()) {
      return fail(error, col, "unexpected text after the frame");
    }
  }
  return true;
}

}  // namespace packsim::can
