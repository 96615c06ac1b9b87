// Database model: equality, look-ups, bit positions and attribute-derived properties.

#include <algorithm>
#include <cmath>
#include <limits>

#include "dbc_internal.hpp"
#include "packsim/can/dbc.hpp"

namespace packsim::can {

bool operator==(const ValueDescription& a, const ValueDescription& b) {
  return a.value == b.value && a.text == b.text;
}

bool operator==(const AttributeValue& a, const AttributeValue& b) {
  if (a.is_string != b.is_string) return false;
  return a.is_string ? a.text == b.text : a.number == b.number;
}

bool operator==(const Attribute& a, const Attribute& b) {
  return a.name == b.name && a.value == b.value;
}

bool operator==(const AttributeDefinition& a, const AttributeDefinition& b) {
  return a.name == b.name && a.object == b.object && a.type == b.type && a.minimum == b.minimum &&
         a.maximum == b.maximum && a.enum_values == b.enum_values &&
         a.default_value == b.default_value;
}

bool operator==(const Signal& a, const Signal& b) {
  return a.name == b.name && a.start_bit == b.start_bit && a.length == b.length &&
         a.byte_order == b.byte_order && a.is_signed == b.is_signed &&
         a.value_type == b.value_type && a.factor == b.factor && a.offset == b.offset &&
         a.minimum == b.minimum && a.maximum == b.maximum && a.unit == b.unit &&
         a.receivers == b.receivers && a.mux_role == b.mux_role &&
         (a.mux_role != MuxRole::kMultiplexed || a.mux_value == b.mux_value) &&
         a.value_descriptions == b.value_descriptions && a.comment == b.comment &&
         a.attributes == b.attributes;
}

bool operator==(const SignalGroup& a, const SignalGroup& b) {
  return a.name == b.name && a.repetitions == b.repetitions && a.signals == b.signals;
}

bool operator==(const MuxRange& a, const MuxRange& b) { return a.low == b.low && a.high == b.high; }

bool operator==(const ExtendedMux& a, const ExtendedMux& b) {
  return a.signal == b.signal && a.multiplexor == b.multiplexor && a.ranges == b.ranges;
}

bool operator==(const Message& a, const Message& b) {
  return a.id == b.id && a.extended == b.extended && a.name == b.name && a.size == b.size &&
         a.sender == b.sender && a.transmitters == b.transmitters && a.signals == b.signals &&
         a.comment == b.comment && a.attributes == b.attributes &&
         a.signal_groups == b.signal_groups && a.extended_mux == b.extended_mux &&
         a.cycle_time_ms == b.cycle_time_ms && a.is_fd == b.is_fd;
}

bool operator==(const Node& a, const Node& b) {
  return a.name == b.name && a.comment == b.comment && a.attributes == b.attributes;
}

bool operator==(const ValueTable& a, const ValueTable& b) {
  return a.name == b.name && a.values == b.values;
}

bool operator==(const Database& a, const Database& b) {
  return a.version == b.version && a.nodes == b.nodes && a.value_tables == b.value_tables &&
         a.messages == b.messages && a.comment == b.comment &&
         a.attribute_definitions == b.attribute_definitions && a.attributes == b.attributes;
}

const Signal* Message::find_signal(std::string_view signal_name) const {
  for (const auto& s : signals) {
    if (s.name == signal_name) return &s;
  }
  return nullptr;
}

Signal* Message::find_signal(std::string_view signal_name) {
  for (auto& s : signals) {
    if (s.name == signal_name) return &s;
  }
  return nullptr;
}

const Message* Database::find_message(std::string_view message_name) const {
  for (const auto& m : messages) {
    if (m.name == message_name) return &m;
  }
  return nullptr;
}

const Message* Database::find_message(std::uint32_t id, bool extended) const {
  for (const auto& m : messages) {
    if (m.id == id && m.extended == extended) return &m;
  }
  return nullptr;
}

const AttributeDefinition* Database::find_attribute_definition(std::string_view name) const {
  for (const auto& d : attribute_definitions) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::vector<int> signal_bit_positions(const Signal& signal) {
  std::vector<int> bits;
  if (signal.length <= 0) return bits;
  bits.reserve(static_cast<std::size_t>(signal.length));
  if (signal.byte_order == ByteOrder::kLittleEndian) {
    for (int k = 0; k < signal.length; ++k) bits.push_back(signal.start_bit + k);
    return bits;
  }
  // Motorola: number the bits in transmission order (byte 0 MSB first); the start bit is the
  // MSB, the following bits are the next ones in that order.
  const int msb_network = 8 * (signal.start_bit / 8) + 7 - signal.start_bit % 8;
  for (int k = 0; k < signal.length; ++k) {
    const int p = msb_network + (signal.length - 1 - k);
    bits.push_back(8 * (p / 8) + 7 - p % 8);
  }
  return bits;
}

namespace detail {

const Attribute* find_attribute(const std::vector<Attribute>& attrs, std::string_view name) {
  for (const auto& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::optional<AttributeValue> effective_attribute(const Database& db,
                                                  const std::vector<Attribute>& attrs,
                                                  std::string_view name) {
  if (const Attribute* a = find_attribute(attrs, name)) return a->value;
  if (const AttributeDefinition* d = db.find_attribute_definition(name)) return d->default_value;
  return std::nullopt;
}

int resolve_cycle_time(const Database& db, const Message& m) {
  const auto v = effective_attribute(db, m.attributes, "GenMsgCycleTime");
  if (!v || v->is_string || !std::isfinite(v->number)) return 0;
  if (v->number <= 0) return 0;
  if (v->number >= static_cast<double>(std::numeric_limits<int>::max())) {
    return std::numeric_limits<int>::max();
  }
  return static_cast<int>(v->number);
}

std::string resolve_frame_format(const Database& db, const Message& m) {
  const auto v = effective_attribute(db, m.attributes, "VFrameFormat");
  if (!v) return {};
  if (v->is_string) return v->text;
  const AttributeDefinition* d = db.find_attribute_definition("VFrameFormat");
  if (d == nullptr || d->type != AttributeType::kEnum) return {};
  if (!(v->number >= 0) || v->number >= static_cast<double>(d->enum_values.size())) return {};
  return d->enum_values[static_cast<std::size_t>(v->number)];
}

bool resolve_is_fd(const Database& db, const Message& m) {
  const std::string f = resolve_frame_format(db, m);
  constexpr std::string_view kSuffix = "CAN_FD";
  return f.size() >= kSuffix.size() &&
         f.compare(f.size() - kSuffix.size(), kSuffix.size(), kSuffix.data(), kSuffix.size()) == 0;
}

}  // namespace detail

void resolve_derived_properties(Database& db) {
  for (auto& m : db.messages) {
    m.cycle_time_ms = detail::resolve_cycle_time(db, m);
    m.is_fd = detail::resolve_is_fd(db, m);
  }
}

}  // namespace packsim::can
