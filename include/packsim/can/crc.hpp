#pragma once
// CRC-8 SAE J1850 (AUTOSAR Crc_CalculateCRC8): polynomial 0x1D, initial value 0xFF, final XOR
// 0xFF, no reflection. Check value over the ASCII bytes "123456789" is 0x4B. Table driven.

#include <array>
#include <cstddef>
#include <cstdint>

namespace packsim::can {

inline constexpr std::uint8_t kCrc8J1850Poly = 0x1D;
inline constexpr std::uint8_t kCrc8J1850Init = 0xFF;
inline constexpr std::uint8_t kCrc8J1850XorOut = 0xFF;

// table[i] = CRC register after shifting the byte i through the polynomial (MSB first).
constexpr std::array<std::uint8_t, 256> make_crc8_table(std::uint8_t poly) noexcept {
  std::array<std::uint8_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned reg = i;
    for (int b = 0; b < 8; ++b) reg = (reg & 0x80u) ? ((reg << 1) ^ poly) : (reg << 1);
    table[i] = static_cast<std::uint8_t>(reg & 0xFFu);
  }
  return table;
}

inline constexpr std::array<std::uint8_t, 256> kCrc8J1850Table = make_crc8_table(kCrc8J1850Poly);

// Feeds bytes into a running CRC register (no initial value, no final XOR applied here), so a
// CRC over several pieces is: reg = init; reg = update(reg, a); reg = update(reg, b); reg ^ xorout.
constexpr std::uint8_t crc8_j1850_update(std::uint8_t reg, const std::uint8_t* data,
                                         std::size_t len) noexcept {
  for (std::size_t i = 0; i < len; ++i) {
    reg = kCrc8J1850Table[static_cast<std::uint8_t>(reg ^ data[i])];
  }
  return reg;
}

// Complete CRC-8 SAE J1850 of one buffer.
constexpr std::uint8_t crc8_j1850(const std::uint8_t* data, std::size_t len) noexcept {
  return static_cast<std::uint8_t>(crc8_j1850_update(kCrc8J1850Init, data, len) ^ kCrc8J1850XorOut);
}

}  // namespace packsim::can
