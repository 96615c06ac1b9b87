#pragma once
// Helpers for the CAN tests: build messages in code, read test data, and an independent
// reference model of the DBC bit numbering (walks the sawtooth directly, unlike the codec).

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "packsim/can/dbc.hpp"

namespace packsim::can::test {

inline Signal make_signal(std::string name, int start, int length, ByteOrder order,
                          bool is_signed = false, double factor = 1.0, double offset = 0.0) {
  Signal s;
  s.name = std::move(name);
  s.start_bit = start;
  s.length = length;
  s.byte_order = order;
  s.is_signed = is_signed;
  s.factor = factor;
  s.offset = offset;
  return s;
}

inline Message make_message(std::uint32_t size, std::vector<Signal> signals,
                            std::uint32_t id = 0x100, std::string name = "Msg") {
  Message m;
  m.id = id;
  m.name = std::move(name);
  m.size = size;
  m.signals = std::move(signals);
  return m;
}

inline std::string data_path(const std::string& rel) {
  return std::string(PACKSIM_SOURCE_DIR) + "/tests/data/dbc/" + rel;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Frame positions (8 * byte + bit_in_byte) of the signal's bits, MSB first. Intel: the LSB is
// the start bit and bits count upwards. Motorola: the MSB is the start bit; the next bit is one
// lower in the same byte, or bit 7 of the following byte after bit 0 (the "sawtooth").
inline std::vector<int> reference_bits_msb_first(const Signal& s) {
  std::vector<int> out;
  if (s.byte_order == ByteOrder::kLittleEndian) {
    for (int k = s.length - 1; k >= 0; --k) out.push_back(s.start_bit + k);
  } else {
    int pos = s.start_bit;
    for (int i = 0; i < s.length; ++i) {
      out.push_back(pos);
      pos = (pos % 8 == 0) ? pos + 15 : pos - 1;
    }
  }
  return out;
}

inline void reference_set(const Signal& s, std::uint64_t value, std::uint8_t* data) {
  const auto bits = reference_bits_msb_first(s);
  for (int i = 0; i < s.length; ++i) {
    const int pos = bits[static_cast<std::size_t>(i)];
    const unsigned bit = static_cast<unsigned>((value >> (s.length - 1 - i)) & 1u);
    const auto mask = static_cast<std::uint8_t>(1u << (pos % 8));
    auto& byte = data[pos / 8];
    byte = static_cast<std::uint8_t>(bit ? (byte | mask) : (byte & ~mask));
  }
}

inline std::uint64_t reference_get(const Signal& s, const std::uint8_t* data) {
  std::uint64_t v = 0;
  for (int pos : reference_bits_msb_first(s)) {
    v = (v << 1) | ((static_cast<unsigned>(data[pos / 8]) >> (pos % 8)) & 1u);
  }
  return v;
}

}  // namespace packsim::can::test
