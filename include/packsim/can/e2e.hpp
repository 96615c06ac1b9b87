#pragma once
// End-to-end protection in the style of AUTOSAR E2E profile 1, for packsim's own safety frames:
// a 4-bit alive counter and a CRC-8 SAE J1850 byte. Where the counter and the CRC sit is taken
// from DBC signals, so any layout works. Exact definition (docs/dbc.md):
//
//   CRC = crc8_j1850( data_id_low [, data_id_high] || payload[0 .. size-1] without the CRC byte )
//
// with payload = the message's DBC size in bytes, the counter already written, and
// crc8_j1850 = poly 0x1D, init 0xFF, final XOR 0xFF. The sender increments the counter modulo 16
// before every transmission, starting at 0. The receiver classifies every frame (see E2EStatus).
// Neither side allocates after construction.

#include <cstddef>
#include <cstdint>

#include "packsim/can/codec.hpp"

namespace packsim::can {

enum class DataIdMode : std::uint8_t {
  kLowByte,    // CRC starts with the low byte of the data id only
  kBothBytes,  // CRC starts with the low byte, then the high byte of the data id
};

struct E2EConfig {
  std::uint16_t data_id = 0;
  DataIdMode data_id_mode = DataIdMode::kBothBytes;
  // Largest counter step still accepted as "ok" (steps 2..max mean frames were missed but
  // tolerated). 1..15.
  std::uint8_t max_delta_counter = 1;
};

// Resolved positions: the CRC must be an unsigned 8-bit signal covering one whole byte, the
// counter an unsigned 4-bit integer signal outside that byte. Throws std::invalid_argument.
struct E2ELayout {
  E2ELayout(const MessageCodec& codec, std::size_t counter_signal, std::size_t crc_signal,
            E2EConfig config);

  SignalLayout counter;
  std::size_t crc_byte = 0;
  std::size_t size = 0;
  E2EConfig config;

  std::uint8_t compute_crc(const std::uint8_t* data) const noexcept;
};

class E2EProtector {
 public:
  E2EProtector(const MessageCodec& codec, std::size_t counter_signal, std::size_t crc_signal,
               E2EConfig config)
      : layout_(codec, counter_signal, crc_signal, config) {}

  // Writes the next counter value and the CRC into `data` (size() bytes), then advances.
  void protect(std::uint8_t* data) noexcept;
  std::uint8_t next_counter() const noexcept { return next_counter_; }
  void set_next_counter(std::uint8_t c) noexcept { next_counter_ = c & 0x0Fu; }
  const E2ELayout& layout() const noexcept { return layout_; }

 private:
  E2ELayout layout_;
  std::uint8_t next_counter_ = 0;
};

enum class E2EStatus : std::uint8_t {
  kFirst,     // first frame with a correct CRC since construction or reset(): accepted
  kOk,        // correct CRC, counter advanced by 1..max_delta_counter
  kBadCrc,    // CRC mismatch: frame rejected, counter state unchanged
  kRepeated,  // correct CRC, same counter as the last accepted frame (stale data)
  kLost,      // correct CRC, counter jumped by more than max_delta_counter (frames lost, or an
              // old frame replayed): rejected; the checker resynchronises to the new counter
};

struct E2ECounts {
  std::uint32_t first = 0;
  std::uint32_t ok = 0;
  std::uint32_t bad_crc = 0;
  std::uint32_t repeated = 0;
  std::uint32_t lost = 0;
  std::uint32_t missed_frames = 0;  // sum of (counter step - 1) over kOk frames
};

class E2EChecker {
 public:
  E2EChecker(const MessageCodec& codec, std::size_t counter_signal, std::size_t crc_signal,
             E2EConfig config)
      : layout_(codec, counter_signal, crc_signal, config) {}

  E2EStatus check(const std::uint8_t* data) noexcept;
  const E2ECounts& counts() const noexcept { return counts_; }
  bool synchronised() const noexcept { return has_last_; }
  std::uint8_t last_counter() const noexcept { return last_counter_; }
  void reset() noexcept {
    has_last_ = false;
    last_counter_ = 0;
    counts_ = E2ECounts{};
  }
  const E2ELayout& layout() const noexcept { return layout_; }

 private:
  E2ELayout layout_;
  bool has_last_ = false;
  std::uint8_t last_counter_ = 0;
  E2ECounts counts_;
};

}  // namespace packsim::can
