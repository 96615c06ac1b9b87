// candump log lines: parse_candump_line never crashes; a line it accepts is a valid frame that
// formats (format_candump, or format_frame for a bare frame) to a line that parses back to the
// same frame, interface and time (to the microsecond, the resolution candump writes). Whatever the
// formatter is given (any interface bytes, any time) it writes a line the parser accepts.
#include <cstring>

#include "fuzz_support.hpp"
#include "packsim/can/candump.hpp"

using namespace packsim;

namespace {

std::string describe(const can::CandumpRecord& r) {
  char frame[can::kCandumpLineMax];
  can::format_frame(frame, r.frame);
  return "time " + std::to_string(r.timestamp_ns) + " ns, iface '" + r.iface + "', frame " + frame;
}

void round_trip(std::string_view line) {
  can::CandumpRecord r;
  can::CandumpError e;
  if (!can::parse_candump_line(line, r, e)) {
    fuzz::check(e.column >= 1 && static_cast<std::size_t>(e.column) <= line.size() + 1,
                "error column outside the line", std::to_string(e.column) + ": " + e.message);
    return;
  }
  // An error frame's id is its error class, up to 29 bits whatever the format (as SocketCAN
  // delivers it).
  can::CanFrame shape = r.frame;
  shape.extended = shape.extended || shape.error;
  fuzz::check(can::is_valid_frame(shape), "the parser accepted an invalid frame", describe(r));
  fuzz::check(r.has_timestamp == !r.iface.empty(), "a time without an interface or the reverse",
              describe(r));
  char buf[can::kCandumpLineMax];
  std::string written;
  if (r.has_timestamp) {
    fuzz::check(can::is_valid_interface_name(r.iface), "the parser accepted a bad interface name",
                describe(r));
    const std::size_t n = can::format_candump(buf, r.timestamp_ns, r.iface, r.frame);
    fuzz::check(n >= 2 && n < sizeof buf && buf[n - 1] == '\n', "format_candump line malformed");
    written.assign(buf, n - 1);
  } else {
    written.assign(buf, can::format_frame(buf, r.frame));
  }
  can::CandumpRecord back;
  fuzz::check(can::parse_candump_line(written, back, e), "a formatted line does not parse",
              written + "\n" + std::to_string(e.column) + ": " + e.message);
  fuzz::check(back.frame == r.frame, "the frame changed in a round trip",
              describe(r) + " -> " + written);
  fuzz::check(back.iface == r.iface && back.has_timestamp == r.has_timestamp,
              "the interface changed in a round trip", describe(r) + " -> " + written);
  fuzz::check(back.timestamp_ns == r.timestamp_ns - r.timestamp_ns % 1000,
              "the time changed in a round trip", describe(r) + " -> " + written);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  // Lines as `dbc decode` reads them (std::getline: '\n' ends a line, '\r' stays in it).
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    round_trip(text.substr(begin, end - begin));
    begin = end + 1;
  }
  // The formatter with raw input bytes as the interface name and time.
  std::int64_t t = 0;
  std::memcpy(&t, data, std::min(size, sizeof t));
  const std::string_view iface = text.substr(0, std::min<std::size_t>(size, 40));
  can::CanFrame f;
  f.id = 0x123;
  char buf[can::kCandumpLineMax];
  const std::size_t n = can::format_candump(buf, t, iface, f);
  fuzz::check(n >= 2 && buf[n - 1] == '\n', "format_candump line malformed");
  can::CandumpRecord r;
  can::CandumpError e;
  fuzz::check(can::parse_candump_line(std::string_view(buf, n - 1), r, e),
              "format_candump wrote a line the parser refuses",
              std::string(buf, n - 1) + "\n" + std::to_string(e.column) + ": " + e.message);
  return 0;
}
