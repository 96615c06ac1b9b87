// E2E protection (alive counter + CRC-8 SAE J1850); definition in e2e.hpp and docs/dbc.md.

#include "packsim/can/e2e.hpp"

#include <stdexcept>
#include <string>

#include "packsim/can/crc.hpp"

namespace packsim::can {

E2ELayout::E2ELayout(const MessageCodec& codec, std::size_t counter_signal, std::size_t crc_signal,
                     E2EConfig cfg)
    : size(codec.size()), config(cfg) {
  if (counter_signal >= codec.signal_count() || crc_signal >= codec.signal_count()) {
    throw std::invalid_argument("E2E: signal index out of range for message '" + codec.name() +
                                "'");
  }
  if (config.max_delta_counter < 1 || config.max_delta_counter > 15) {
    throw std::invalid_argument("E2E: max_delta_counter must be 1..15");
  }
  const SignalLayout& crc = codec.layout(crc_signal);
  if (crc.length != 8 || crc.is_signed || crc.segment_count != 1 || crc.segments[0].mask != 0xFF) {
    throw std::invalid_argument("E2E: CRC signal '" + codec.signal_name(crc_signal) +
                                "' must be an unsigned 8-bit signal covering one whole byte");
  }
  crc_byte = crc.segments[0].byte;
  counter = codec.layout(counter_signal);
  if (counter.length != 4 || counter.is_signed) {
    throw std::invalid_argument("E2E: counter signal '" + codec.signal_name(counter_signal) +
                                "' must be an unsigned 4-bit signal");
  }
  for (std::uint8_t i = 0; i < counter.segment_count; ++i) {
    if (counter.segments[i].byte == crc_byte) {
      throw std::invalid_argument("E2E: counter and CRC share byte " + std::to_string(crc_byte));
    }
  }
}

std::uint8_t E2ELayout::compute_crc(const std::uint8_t* data) const noexcept {
  std::uint8_t id[2] = {static_cast<std::uint8_t>(config.data_id & 0xFFu),
                        static_cast<std::uint8_t>(config.data_id >> 8)};
  std::uint8_t reg = kCrc8J1850Init;
  reg = crc8_j1850_update(reg, id, config.data_id_mode == DataIdMode::kBothBytes ? 2 : 1);
  reg = crc8_j1850_update(reg, data, crc_byte);
  reg = crc8_j1850_update(reg, data + crc_byte + 1, size - crc_byte - 1);
  return static_cast<std::uint8_t>(reg ^ kCrc8J1850XorOut);
}

void E2EProtector::protect(std::uint8_t* data) noexcept {
  layout_.counter.set(next_counter_, data);
  data[layout_.crc_byte] = layout_.compute_crc(data);
  next_counter_ = static_cast<std::uint8_t>((next_counter_ + 1u) & 0x0Fu);
}

E2EStatus E2EChecker::check(const std::uint8_t* data) noexcept {
  if (data[layout_.crc_byte] != layout_.compute_crc(data)) {
    ++counts_.bad_crc;
    return E2EStatus::kBadCrc;
  }
  const auto counter = static_cast<std::uint8_t>(layout_.counter.get(data));
  if (!has_last_) {
    has_last_ = true;
    last_counter_ = counter;
    ++counts_.first;
    return E2EStatus::kFirst;
  }
  const auto delta = static_cast<std::uint8_t>((counter - last_counter_) & 0x0F);
  if (delta == 0) {
    ++counts_.repeated;
    return E2EStatus::kRepeated;
  }
  last_counter_ = counter;
  if (delta <= layout_.config.max_delta_counter) {
    counts_.missed_frames += delta - 1u;
    ++counts_.ok;
    return E2EStatus::kOk;
  }
  // Too many frames lost, or an old frame replayed (a step back of one is a jump of 15): either
  // way the data cannot be trusted. Rejected, as AUTOSAR profile 1's WRONGSEQUENCE; the next frame
  // in sequence after this one is accepted again.
  ++counts_.lost;
  return E2EStatus::kLost;
}

}  // namespace packsim::can
