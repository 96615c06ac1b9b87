#include "packsim/hil/can_log.hpp"

#include <cstdio>

namespace packsim::hil {

void CanLogWriter::write(std::int64_t timestamp_ns, std::string_view iface,
                         const can::CanFrame& frame) {
  if (!file_.is_open()) return;
  char line[can::kCandumpLineMax];
  file_.write(line, can::format_candump(line, timestamp_ns, iface, frame));
  ++lines_;
}

}  // namespace packsim::hil
