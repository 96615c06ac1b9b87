#pragma once
// candump's log format, `(1712345678.123456) can0 123#DEADBEEF`: CanLogWriter writes it, `packsim
// dbc decode` reads it (and the bare `123#DEADBEEF` frame syntax of cansend). CAN FD frames are
// `123##<flags><data>`, remote frames `123#R`, error frames carry CAN_ERR_FLAG in an 8-digit id,
// as can-utils prints and parses them. No I/O here.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "packsim/can/frame.hpp"

namespace packsim::can {

inline constexpr std::uint32_t kCanErrorFlag = 0x20000000u;  // CAN_ERR_FLAG in a printed id

// Interface names, one rule for the parser and the formatter: 1 to 15 bytes (Linux's IFNAMSIZ is
// 16 with the NUL), each printable ASCII other than '/' and ':' (which Linux refuses) and '#'
// (which would read as a frame). Linux also accepts other bytes; none of them survive a text log
// that tools split at blanks and print, so they are not written and not read.
inline constexpr std::size_t kInterfaceNameMax = 15;
bool is_valid_interface_name(std::string_view name);

// Formats one line (with the trailing newline) into `out`; returns its length (never 0). `out`
// must hold kCandumpLineMax bytes. Never allocates. What the parser would refuse is never written:
// a negative time is written as 0, an interface name is cut to kInterfaceNameMax bytes and every
// byte the name rule does not allow becomes '_' (an empty name '-').
inline constexpr std::size_t kCandumpLineMax = 64 + 2 * kFdMaxLen + 32;
std::size_t format_candump(char* out, std::int64_t timestamp_ns, std::string_view iface,
                           const CanFrame& frame);

// The frame alone, cansend style (`123#DEADBEEF`), NUL-terminated; returns its length. `out` must
// hold kCandumpLineMax bytes.
std::size_t format_frame(char* out, const CanFrame& frame);

struct CandumpRecord {
  bool has_timestamp = false;  // false for a bare cansend-style frame
  std::int64_t timestamp_ns = 0;
  std::string iface;  // empty for a bare frame
  CanFrame frame;
};

struct CandumpError {
  int column = 0;  // 1-based column in the line
  std::string message;
};

// Parses one line without its newline: `(sec.frac) iface frame [T|R]` or a bare `frame`, where
// frame is `ID#DATA`, `ID#R[len]`, `ID##FLAGS DATA` (CAN FD, the payload padded to the next FD
// length like can-utils does) with optional '.' between bytes, and a classic 8-byte payload may
// end in `_X` (the raw DLC 9..15, ignored). A 3-digit id is standard, 8 digits extended (or an
// error frame when CAN_ERR_FLAG is set). The time must fit int64 nanoseconds (at most
// 9223372036.854775807 s), the interface name follows is_valid_interface_name. Returns false and
// fills `error` for anything else.
bool parse_candump_line(std::string_view line, CandumpRecord& out, CandumpError& error);

}  // namespace packsim::can
