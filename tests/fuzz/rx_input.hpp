#pragma once
// The input of the receive-path targets (rx_fuzz.cpp): frames as a CAN transport delivers them,
// one record each:
//   [flags] [ms] [id: 4 bytes, little endian] [len] [payload: len bytes]
// flags: bit 0 extended, 1 CAN FD, 2 BRS, 3 ESI, 4 remote, 5 error frame (other bits ignored);
// ms: milliseconds since the previous frame, so timeouts expire and BMS cycles run;
// id: cut to 29 or 11 bits, as SocketCAN does; len: up to 8 (classic) or 64 (FD), any value in
// between (a socket delivers FD lengths that are no DLC's). A record cut short by the end of the
// input is completed with zeros. make_rx_seeds.cpp writes the same format from a candump log.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "packsim/can/frame.hpp"

namespace packsim::fuzz {

struct RxRecord {
  std::int64_t delta_ns = 0;
  can::CanFrame frame;
};

inline constexpr std::size_t kRxHeaderBytes = 7;

// Reads the record at data[pos]; false at the end of the input.
inline bool next_rx_record(const std::uint8_t* data, std::size_t size, std::size_t& pos,
                           RxRecord& out) {
  if (pos >= size) return false;
  auto byte = [&](std::size_t k) -> std::uint8_t { return pos + k < size ? data[pos + k] : 0; };
  const std::uint8_t flags = byte(0);
  can::CanFrame f;
  f.extended = (flags & 1u) != 0;
  f.fd = (flags & 2u) != 0;
  f.brs = f.fd && (flags & 4u) != 0;
  f.esi = f.fd && (flags & 8u) != 0;
  f.rtr = !f.fd && (flags & 16u) != 0;
  f.error = (flags & 32u) != 0;
  out.delta_ns = std::int64_t{byte(1)} * 1'000'000;
  const std::uint32_t id = std::uint32_t{byte(2)} | std::uint32_t{byte(3)} << 8 |
                           std::uint32_t{byte(4)} << 16 | std::uint32_t{byte(5)} << 24;
  f.id = id & (f.extended ? can::kExtendedIdMask : can::kStandardIdMask);
  f.len = static_cast<std::uint8_t>(byte(6) % ((f.fd ? can::kFdMaxLen : can::kClassicMaxLen) + 1));
  const std::size_t payload = f.rtr ? 0 : f.len;
  for (std::size_t k = 0; k < payload; ++k) f.data[k] = byte(kRxHeaderBytes + k);
  pos += kRxHeaderBytes + payload;
  out.frame = f;
  return true;
}

inline void append_rx_record(std::string& out, std::int64_t delta_ns, const can::CanFrame& f) {
  const auto flags = static_cast<char>((f.extended ? 1 : 0) | (f.fd ? 2 : 0) | (f.brs ? 4 : 0) |
                                       (f.esi ? 8 : 0) | (f.rtr ? 16 : 0) | (f.error ? 32 : 0));
  out.push_back(flags);
  const std::int64_t ms = std::clamp<std::int64_t>(delta_ns / 1'000'000, 0, 255);
  out.push_back(static_cast<char>(ms));
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((f.id >> (8 * k)) & 0xFFu));
  out.push_back(static_cast<char>(f.len));
  if (!f.rtr) out.append(reinterpret_cast<const char*>(f.data.data()), f.len);
}

}  // namespace packsim::fuzz
