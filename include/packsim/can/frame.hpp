#pragma once
// A CAN / CAN FD frame as plain data. No Linux headers here: the SocketCAN layer converts to and
// from `struct can_frame` / `struct canfd_frame`, so the codec and the tests stay portable.

#include <array>
#include <cstddef>
#include <cstdint>

namespace packsim::can {

inline constexpr std::uint32_t kStandardIdMask = 0x7FFu;       // 11-bit identifier
inline constexpr std::uint32_t kExtendedIdMask = 0x1FFFFFFFu;  // 29-bit identifier
// In DBC files an extended identifier is written with bit 31 set (Vector and cantools agree).
inline constexpr std::uint32_t kDbcExtendedFlag = 0x80000000u;
inline constexpr std::size_t kClassicMaxLen = 8;
inline constexpr std::size_t kFdMaxLen = 64;

struct CanFrame {
  std::uint32_t id = 0;  // 11 or 29 bits, without flag bits
  bool extended = false;
  bool fd = false;       // CAN FD frame format
  bool brs = false;      // FD bit-rate switch
  bool esi = false;      // FD error state indicator
  bool rtr = false;      // classic remote request
  bool error = false;    // error frame reported by the controller
  std::uint8_t len = 0;  // payload bytes, 0..8 (classic) or a valid FD length up to 64
  std::array<std::uint8_t, kFdMaxLen> data{};
};

// Payload length for a 4-bit DLC. Classic CAN caps DLC 9..15 at 8 bytes; CAN FD maps them to
// 12, 16, 20, 24, 32, 48, 64. Values above 15 are treated as 15.
constexpr std::uint8_t dlc_to_len(std::uint8_t dlc, bool fd = true) noexcept {
  constexpr std::uint8_t kFdLens[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};
  const std::uint8_t d = dlc > 15 ? std::uint8_t{15} : dlc;
  if (!fd) return d > 8 ? std::uint8_t{8} : d;
  return kFdLens[d];
}

// Smallest DLC whose payload holds `len` bytes (CAN FD table); lengths above 64 give 15.
constexpr std::uint8_t len_to_dlc(std::size_t len) noexcept {
  if (len <= 8) return static_cast<std::uint8_t>(len);
  if (len <= 12) return 9;
  if (len <= 16) return 10;
  if (len <= 20) return 11;
  if (len <= 24) return 12;
  if (len <= 32) return 13;
  if (len <= 48) return 14;
  return 15;
}

// The frame length an FD controller actually sends for `len` payload bytes (padding included).
constexpr std::uint8_t fd_padded_len(std::size_t len) noexcept {
  return dlc_to_len(len_to_dlc(len), true);
}

// True when `len` is a length the frame format can carry without padding.
constexpr bool is_valid_len(std::size_t len, bool fd) noexcept {
  if (!fd) return len <= kClassicMaxLen;
  return len <= kFdMaxLen && fd_padded_len(len) == len;
}

// Structural validity: id fits its format, length fits the format, FD-only flags only on FD.
constexpr bool is_valid_frame(const CanFrame& f) noexcept {
  if (f.id > (f.extended ? kExtendedIdMask : kStandardIdMask)) return false;
  if (!is_valid_len(f.len, f.fd)) return false;
  if (!f.fd && (f.brs || f.esi)) return false;
  if (f.fd && f.rtr) return false;  // CAN FD has no remote frames
  return true;
}

// Compares header and the first `len` payload bytes; bytes beyond `len` are don't-care.
inline bool operator==(const CanFrame& a, const CanFrame& b) noexcept {
  if (a.id != b.id || a.extended != b.extended || a.fd != b.fd || a.brs != b.brs ||
      a.esi != b.esi || a.rtr != b.rtr || a.error != b.error || a.len != b.len) {
    return false;
  }
  for (std::size_t i = 0; i < a.len && i < kFdMaxLen; ++i) {
    if (a.data[i] != b.data[i]) return false;
  }
  return true;
}
inline bool operator!=(const CanFrame& a, const CanFrame& b) noexcept { return !(a == b); }

}  // namespace packsim::can
