// MessageCodec: bit layouts resolved once at construction; the per-frame paths below only do
// arithmetic on the caller's buffer.

#include "packsim/can/codec.hpp"

#include <cassert>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace packsim::can {

double round_half_even(double x) noexcept {
  const double f = std::floor(x);
  const double diff = x - f;  // exact for |x| < 2^52; 0 above, where every double is integral
  if (diff > 0.5) return f + 1.0;
  if (diff < 0.5) return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

bool make_signal_layout(const Signal& signal, std::size_t payload_bytes, SignalLayout& out) {
  if (signal.length < 1 || signal.length > 64 || signal.start_bit < 0) return false;
  const std::vector<int> bits = signal_bit_positions(signal);
  SignalLayout l;
  l.length = static_cast<std::uint8_t>(signal.length);
  l.is_signed = signal.is_signed && signal.value_type == ValueType::kInteger;
  // Signal bit k+1 continues a run when it is the next bit up in the same byte (true for both
  // byte orders, because both fill a byte from its low bits as k grows).
  int width = 0;  // bits in the last segment so far
  for (int k = 0; k < signal.length; ++k) {
    const int b = bits[static_cast<std::size_t>(k)];
    const int byte = b / 8;
    const int bit = b % 8;
    if (b < 0 || static_cast<std::size_t>(byte) >= payload_bytes) return false;
    if (l.segment_count > 0) {
      BitSegment& s = l.segments[l.segment_count - 1];
      if (s.byte == byte && s.shift + width == bit && s.value_pos + width == k) {
        s.mask = static_cast<std::uint8_t>((s.mask << 1) | 1);
        ++width;
        continue;
      }
    }
    if (l.segment_count == l.segments.size()) return false;
    width = 1;
    BitSegment& s = l.segments[l.segment_count++];
    s.byte = static_cast<std::uint8_t>(byte);
    s.shift = static_cast<std::uint8_t>(bit);
    s.mask = 1;
    s.value_pos = static_cast<std::uint8_t>(k);
    if (byte > l.last_byte) l.last_byte = static_cast<std::uint8_t>(byte);
  }
  out = l;
  return true;
}

MessageCodec::MessageCodec(const Message& message)
    : name_(message.name),
      id_(message.id),
      extended_(message.extended),
      fd_(message.is_fd),
      size_(message.size) {
  if (size_ > kFdMaxLen) {
    throw std::invalid_argument("message '" + name_ + "' is longer than 64 bytes");
  }
  entries_.reserve(message.signals.size());
  for (const auto& s : message.signals) {
    Entry e;
    e.name = s.name;
    if (!make_signal_layout(s, size_, e.layout)) {
      throw std::invalid_argument("signal '" + s.name + "' of message '" + name_ +
                                  "' does not fit the message or has an invalid length");
    }
    if ((s.value_type == ValueType::kFloat32 && s.length != 32) ||
        (s.value_type == ValueType::kFloat64 && s.length != 64)) {
      throw std::invalid_argument("float signal '" + s.name + "' must be 32 or 64 bits");
    }
    if (s.factor == 0.0) throw std::invalid_argument("signal '" + s.name + "' has factor 0");
    e.value_type = s.value_type;
    e.factor = s.factor;
    e.offset = s.offset;
    e.role = s.mux_role;
    e.mux_value = s.mux_value;
    e.ranges_begin = e.ranges_end = ranges_.size();
    for (const auto& x : message.extended_mux) {
      if (x.signal != s.name) continue;
      ranges_.insert(ranges_.end(), x.ranges.begin(), x.ranges.end());
      e.ranges_end = ranges_.size();
    }
    if (s.mux_role == MuxRole::kMultiplexor) {
      if (multiplexor_ != npos) {
        throw std::invalid_argument("message '" + name_ + "' has more than one multiplexor");
      }
      multiplexor_ = entries_.size();
    }
    entries_.push_back(std::move(e));
  }
  for (const auto& e : entries_) {
    if (e.role == MuxRole::kMultiplexed && multiplexor_ == npos) {
      throw std::invalid_argument("signal '" + e.name + "' is multiplexed but message '" + name_ +
                                  "' has no multiplexor");
    }
  }
}

std::size_t MessageCodec::find(std::string_view signal_name) const noexcept {
  for (std::size_t k = 0; k < entries_.size(); ++k) {
    if (entries_[k].name == signal_name) return k;
  }
  return npos;
}

std::uint64_t MessageCodec::get_raw(std::size_t k, const std::uint8_t* data) const noexcept {
  assert(k < entries_.size());
  return entries_[k].layout.get(data);
}

std::int64_t MessageCodec::get_raw_signed(std::size_t k, const std::uint8_t* data) const noexcept {
  const SignalLayout& l = entries_[k].layout;
  std::uint64_t v = l.get(data);
  if (l.is_signed && l.length < 64 && ((v >> (l.length - 1)) & 1u) != 0) {
    v |= ~((std::uint64_t{1} << l.length) - 1);  // sign-extend
  }
  std::int64_t out = 0;
  std::memcpy(&out, &v, sizeof out);  // two's complement reinterpretation
  return out;
}

void MessageCodec::set_raw(std::size_t k, std::uint64_t raw, std::uint8_t* data) const noexcept {
  assert(k < entries_.size());
  entries_[k].layout.set(raw, data);
}

double MessageCodec::raw_min(std::size_t k) const noexcept {
  const Entry& e = entries_[k];
  if (e.value_type == ValueType::kFloat32) return -static_cast<double>(FLT_MAX);
  if (e.value_type == ValueType::kFloat64) return -DBL_MAX;
  if (!e.layout.is_signed) return 0.0;
  return -std::ldexp(1.0, e.layout.length - 1);
}

double MessageCodec::raw_max(std::size_t k) const noexcept {
  const Entry& e = entries_[k];
  if (e.value_type == ValueType::kFloat32) return static_cast<double>(FLT_MAX);
  if (e.value_type == ValueType::kFloat64) return DBL_MAX;
  const int bits = e.layout.is_signed ? e.layout.length - 1 : e.layout.length;
  return std::ldexp(1.0, bits) - 1.0;
}

EncodeStatus MessageCodec::encode(std::size_t k, double physical,
                                  std::uint8_t* data) const noexcept {
  assert(k < entries_.size());
  const Entry& e = entries_[k];
  const double x = (physical - e.offset) / e.factor;
  EncodeStatus status = EncodeStatus::kOk;
  std::uint64_t raw = 0;

  if (e.value_type == ValueType::kFloat64) {
    std::memcpy(&raw, &x, sizeof raw);
  } else if (e.value_type == ValueType::kFloat32) {
    double y = x;
    if (std::isfinite(y) && y > static_cast<double>(FLT_MAX)) {
      y = static_cast<double>(FLT_MAX);
      status = EncodeStatus::kClampedHigh;
    } else if (std::isfinite(y) && y < -static_cast<double>(FLT_MAX)) {
      y = -static_cast<double>(FLT_MAX);
      status = EncodeStatus::kClampedLow;
    }
    const float f = static_cast<float>(y);
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, sizeof bits);
    raw = bits;
  } else {
    if (std::isnan(x)) return EncodeStatus::kNotANumber;
    const double r = round_half_even(x);
    const int len = e.layout.length;
    if (e.layout.is_signed) {
      const double lo = -std::ldexp(1.0, len - 1);  // exact powers of two
      const double hi = std::ldexp(1.0, len - 1);   // first value above the range
      std::int64_t v = 0;
      if (r < lo) {
        v = len == 64 ? std::numeric_limits<std::int64_t>::min() : -(std::int64_t{1} << (len - 1));
        status = EncodeStatus::kClampedLow;
      } else if (r >= hi) {
        v = len == 64 ? std::numeric_limits<std::int64_t>::max()
                      : (std::int64_t{1} << (len - 1)) - 1;
        status = EncodeStatus::kClampedHigh;
      } else {
        v = static_cast<std::int64_t>(r);
      }
      std::memcpy(&raw, &v, sizeof raw);
    } else {
      const double hi = std::ldexp(1.0, len);
      if (r < 0.0) {
        raw = 0;
        status = EncodeStatus::kClampedLow;
      } else if (r >= hi) {
        raw = len == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << len) - 1;
        status = EncodeStatus::kClampedHigh;
      } else {
        raw = static_cast<std::uint64_t>(r);
      }
    }
  }
  e.layout.set(raw, data);
  if (e.role == MuxRole::kMultiplexed) {
    const std::uint64_t sel =
        e.ranges_begin != e.ranges_end ? ranges_[e.ranges_begin].low : e.mux_value;
    entries_[multiplexor_].layout.set(sel, data);
  }
  return status;
}

double MessageCodec::decode(std::size_t k, const std::uint8_t* data) const noexcept {
  assert(k < entries_.size());
  const Entry& e = entries_[k];
  double raw = 0.0;
  if (e.value_type == ValueType::kFloat64) {
    const std::uint64_t bits = e.layout.get(data);
    std::memcpy(&raw, &bits, sizeof raw);
  } else if (e.value_type == ValueType::kFloat32) {
    const auto bits = static_cast<std::uint32_t>(e.layout.get(data));
    float f = 0.0F;
    std::memcpy(&f, &bits, sizeof f);
    raw = static_cast<double>(f);
  } else if (e.layout.is_signed) {
    raw = static_cast<double>(get_raw_signed(k, data));
  } else {
    raw = static_cast<double>(e.layout.get(data));
  }
  return raw * e.factor + e.offset;
}

bool MessageCodec::is_active(std::size_t k, const std::uint8_t* data) const noexcept {
  const Entry& e = entries_[k];
  if (e.role != MuxRole::kMultiplexed) return true;
  const std::uint64_t sel = entries_[multiplexor_].layout.get(data);
  if (e.ranges_begin == e.ranges_end) return sel == e.mux_value;
  for (std::size_t r = e.ranges_begin; r < e.ranges_end; ++r) {
    if (sel >= ranges_[r].low && sel <= ranges_[r].high) return true;
  }
  return false;
}

void MessageCodec::prepare_frame(CanFrame& frame) const noexcept {
  frame = CanFrame{};
  frame.id = id_;
  frame.extended = extended_;
  frame.fd = fd_;
  frame.brs = fd_;  // FD frames of packsim switch bit rate unless the caller clears it
  frame.len = fd_ ? fd_padded_len(size_) : static_cast<std::uint8_t>(size_);
}

EncodeStatus MessageCodec::encode(std::size_t k, double physical, CanFrame& frame) const noexcept {
  return encode(k, physical, frame.data.data());
}

DecodeResult MessageCodec::decode(std::size_t k, const CanFrame& frame) const noexcept {
  const Entry& e = entries_[k];
  if (e.layout.last_byte >= frame.len) return {0.0, DecodeStatus::kShortFrame};
  if (e.role == MuxRole::kMultiplexed && entries_[multiplexor_].layout.last_byte >= frame.len) {
    return {0.0, DecodeStatus::kShortFrame};
  }
  const double v = decode(k, frame.data.data());
  if (!is_active(k, frame.data.data())) return {v, DecodeStatus::kInactive};
  return {v, DecodeStatus::kOk};
}

}  // namespace packsim::can
