#pragma once
// Precompiled signal codec for one DBC message. Construction resolves every signal's bit
// positions once (and may allocate); get/set/encode/decode afterwards never allocate, never
// throw and do no I/O, so the real-time thread can call them every tick.
//
// Semantics follow Vector and cantools: Intel start bit = LSB position, Motorola start bit = MSB
// in the DBC's sawtooth numbering (bit = 8 * byte + bit_in_byte, bit 7 = MSB of a byte), signed
// values are two's complement of the signal length, raw = round((phys - offset) / factor) with
// ties to even (Python's round, as cantools), physical = raw * factor + offset.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "packsim/can/dbc.hpp"
#include "packsim/can/frame.hpp"

namespace packsim::can {

// A run of adjacent bits of one signal inside one byte.
struct BitSegment {
  std::uint8_t byte = 0;       // byte index in the payload
  std::uint8_t shift = 0;      // position of the run's lowest bit inside the byte
  std::uint8_t mask = 0;       // run mask, right-aligned
  std::uint8_t value_pos = 0;  // position of the run's lowest bit inside the raw value
};

// Resolved bit layout of one signal: at most 9 byte runs (64 bits starting mid-byte).
struct SignalLayout {
  std::array<BitSegment, 9> segments{};
  std::uint8_t segment_count = 0;
  std::uint8_t length = 0;
  bool is_signed = false;
  std::uint8_t last_byte = 0;  // highest payload byte touched

  // Zero-extended raw bits.
  std::uint64_t get(const std::uint8_t* data) const noexcept {
    std::uint64_t v = 0;
    for (std::uint8_t i = 0; i < segment_count; ++i) {
      const BitSegment& s = segments[i];
      const auto bits = static_cast<std::uint64_t>((data[s.byte] >> s.shift) & s.mask);
      v |= bits << s.value_pos;
    }
    return v;
  }
  // Writes the low `length` bits of `raw`; other payload bits are untouched.
  void set(std::uint64_t raw, std::uint8_t* data) const noexcept {
    for (std::uint8_t i = 0; i < segment_count; ++i) {
      const BitSegment& s = segments[i];
      const auto bits = static_cast<std::uint8_t>((raw >> s.value_pos) & s.mask);
      const auto keep = static_cast<std::uint8_t>(~(s.mask << s.shift));
      data[s.byte] = static_cast<std::uint8_t>((data[s.byte] & keep) | (bits << s.shift));
    }
  }
};

// Builds the layout; returns false (layout untouched) when the signal does not fit in
// `payload_bytes` or its length is not 1..64.
bool make_signal_layout(const Signal& signal, std::size_t payload_bytes, SignalLayout& out);

enum class EncodeStatus : std::uint8_t {
  kOk,
  kClampedLow,   // value below the raw range: the raw minimum was written
  kClampedHigh,  // value above the raw range: the raw maximum was written
  kNotANumber,   // NaN for an integer signal: nothing was written
};

enum class DecodeStatus : std::uint8_t {
  kOk,
  kInactive,    // multiplexed signal, but the frame's multiplexor selects another value
  kShortFrame,  // the frame is too short to hold the signal
};

struct DecodeResult {
  double value = 0.0;
  DecodeStatus status = DecodeStatus::kOk;
};

class MessageCodec {
 public:
  static constexpr std::size_t npos =  // NOLINT(readability-identifier-naming): as std::string
      static_cast<std::size_t>(-1);

  // Throws std::invalid_argument when the message cannot be coded (signal outside the message,
  // length 0 or above 64, float signal not 32/64 bits, multiplexed signal without multiplexor).
  explicit MessageCodec(const Message& message);

  std::uint32_t id() const noexcept { return id_; }
  bool extended() const noexcept { return extended_; }
  bool fd() const noexcept { return fd_; }
  std::size_t size() const noexcept { return size_; }  // DBC message size in bytes
  std::size_t signal_count() const noexcept { return entries_.size(); }
  const std::string& name() const noexcept { return name_; }
  const std::string& signal_name(std::size_t k) const { return entries_[k].name; }
  std::size_t find(std::string_view signal_name) const noexcept;     // npos if absent
  std::size_t multiplexor() const noexcept { return multiplexor_; }  // npos if none
  MuxRole mux_role(std::size_t k) const noexcept { return entries_[k].role; }
  // The multiplexor value that selects a multiplexed signal k (with SG_MUL_VAL_ ranges: the one
  // its m<value> names; is_active() reads the ranges).
  std::uint64_t mux_value(std::size_t k) const noexcept { return entries_[k].mux_value; }
  const SignalLayout& layout(std::size_t k) const noexcept { return entries_[k].layout; }

  // Raw access; `data` must hold size() bytes. k < signal_count().
  std::uint64_t get_raw(std::size_t k, const std::uint8_t* data) const noexcept;
  std::int64_t get_raw_signed(std::size_t k, const std::uint8_t* data) const noexcept;
  void set_raw(std::size_t k, std::uint64_t raw, std::uint8_t* data) const noexcept;

  // Raw range of signal k as doubles (exact for lengths up to 53 bits).
  double raw_min(std::size_t k) const noexcept;
  double raw_max(std::size_t k) const noexcept;

  // Physical value -> raw, clamped to the raw range. Encoding a multiplexed signal also writes
  // its multiplexor value.
  EncodeStatus encode(std::size_t k, double physical, std::uint8_t* data) const noexcept;
  // Raw -> physical, regardless of multiplexing.
  double decode(std::size_t k, const std::uint8_t* data) const noexcept;
  // Whether signal k is present in this payload (false for a multiplexed signal whose
  // multiplexor value does not select it).
  bool is_active(std::size_t k, const std::uint8_t* data) const noexcept;

  // Frame helpers: id/flags/len for this message and zeroed payload; checked encode/decode.
  void prepare_frame(CanFrame& frame) const noexcept;
  EncodeStatus encode(std::size_t k, double physical, CanFrame& frame) const noexcept;
  DecodeResult decode(std::size_t k, const CanFrame& frame) const noexcept;
  bool matches(const CanFrame& frame) const noexcept {
    return frame.id == id_ && frame.extended == extended_;
  }

 private:
  struct Entry {
    std::string name;
    SignalLayout layout;
    ValueType value_type = ValueType::kInteger;
    double factor = 1.0;
    double offset = 0.0;
    MuxRole role = MuxRole::kPlain;
    std::uint64_t mux_value = 0;
    std::size_t ranges_begin = 0;  // SG_MUL_VAL_ ranges in ranges_, empty = use mux_value
    std::size_t ranges_end = 0;
  };

  std::string name_;
  std::uint32_t id_ = 0;
  bool extended_ = false;
  bool fd_ = false;
  std::size_t size_ = 0;
  std::size_t multiplexor_ = npos;
  std::vector<Entry> entries_;
  std::vector<MuxRange> ranges_;
};

// Round to nearest, ties to even, independent of the floating-point environment.
double round_half_even(double x) noexcept;

}  // namespace packsim::can
