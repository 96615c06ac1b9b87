#pragma once
// DBC data model, parser, validator and writer. The model keeps what a DBC file says, as written
// (start bits in the DBC's own numbering, raw attribute values), so that writing it back gives a
// file that re-parses to an equal Database. Bit positions are resolved later by MessageCodec.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "packsim/util/diagnostic.hpp"

namespace packsim::can {

enum class ByteOrder : std::uint8_t {
  kLittleEndian,  // "@1", Intel: start bit is the LSB, bit = 8 * byte + bit_in_byte
  kBigEndian,     // "@0", Motorola: start bit is the MSB in the same (sawtooth) numbering
};

enum class ValueType : std::uint8_t {
  kInteger,  // two's complement of the signal length when signed
  kFloat32,  // SIG_VALTYPE_ 1: IEEE 754 single, length must be 32
  kFloat64,  // SIG_VALTYPE_ 2: IEEE 754 double, length must be 64
};

enum class MuxRole : std::uint8_t {
  kPlain,        // always present
  kMultiplexor,  // "M": its raw value selects the multiplexed signals
  kMultiplexed,  // "mN": present only when the multiplexor's raw value is N
};

// Where a definition sits in its file. Diagnostics only: not part of equality.
struct SourcePos {
  int line = 0;
  int column = 0;
};

struct ValueDescription {
  std::int64_t value = 0;  // raw value
  std::string text;
};

struct AttributeValue {
  bool is_string = false;
  double number = 0.0;  // INT, HEX, FLOAT, and ENUM when given as an index
  std::string text;     // STRING, and ENUM when given as its text

  static AttributeValue of_number(double v) { return AttributeValue{false, v, {}}; }
  static AttributeValue of_string(std::string s) { return AttributeValue{true, 0.0, std::move(s)}; }
};

struct Attribute {
  std::string name;
  AttributeValue value;
};

enum class AttributeObject : std::uint8_t { kNetwork, kNode, kMessage, kSignal, kEnvVar };
enum class AttributeType : std::uint8_t { kInt, kHex, kFloat, kString, kEnum };

struct AttributeDefinition {
  std::string name;
  AttributeObject object = AttributeObject::kNetwork;
  AttributeType type = AttributeType::kInt;
  double minimum = 0.0;  // INT, HEX, FLOAT
  double maximum = 0.0;
  std::vector<std::string> enum_values;         // ENUM
  std::optional<AttributeValue> default_value;  // from BA_DEF_DEF_
};

struct Signal {
  std::string name;
  int start_bit = 0;  // as written in the DBC
  int length = 1;
  ByteOrder byte_order = ByteOrder::kLittleEndian;
  bool is_signed = false;
  ValueType value_type = ValueType::kInteger;
  double factor = 1.0;
  double offset = 0.0;
  double minimum = 0.0;
  double maximum = 0.0;
  std::string unit;
  std::vector<std::string> receivers;  // empty for "Vector__XXX"
  MuxRole mux_role = MuxRole::kPlain;
  std::uint64_t mux_value = 0;  // for kMultiplexed
  std::vector<ValueDescription> value_descriptions;
  std::string comment;
  std::vector<Attribute> attributes;
  SourcePos pos;  // of the signal name
};

struct SignalGroup {
  std::string name;
  std::uint32_t repetitions = 1;
  std::vector<std::string> signals;
};

// SG_MUL_VAL_: the multiplexor values (inclusive ranges) that select a signal.
struct MuxRange {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
};
struct ExtendedMux {
  std::string signal;
  std::string multiplexor;
  std::vector<MuxRange> ranges;
};

struct Message {
  std::uint32_t id = 0;  // without the DBC's extended flag bit
  bool extended = false;
  std::string name;
  std::uint32_t size = 0;                 // bytes, 0..64
  std::string sender;                     // empty for "Vector__XXX"
  std::vector<std::string> transmitters;  // BO_TX_BU_, as written
  std::vector<Signal> signals;
  std::string comment;
  std::vector<Attribute> attributes;
  std::vector<SignalGroup> signal_groups;
  std::vector<ExtendedMux> extended_mux;
  // Derived from attributes by parse_dbc (see resolve_derived_properties).
  int cycle_time_ms = 0;  // GenMsgCycleTime, 0 = not cyclic / unknown
  bool is_fd = false;     // VFrameFormat StandardCAN_FD or ExtendedCAN_FD
  SourcePos pos;          // of the message name

  std::uint32_t dbc_id() const { return extended ? (id | 0x80000000u) : id; }
  const Signal* find_signal(std::string_view signal_name) const;
  Signal* find_signal(std::string_view signal_name);
};

struct Node {
  std::string name;
  std::string comment;
  std::vector<Attribute> attributes;
  SourcePos pos;
};

struct ValueTable {
  std::string name;
  std::vector<ValueDescription> values;
};

struct Database {
  std::string version;
  std::vector<Node> nodes;
  std::vector<ValueTable> value_tables;
  std::vector<Message> messages;
  std::string comment;  // CM_ "..." without object
  std::vector<AttributeDefinition> attribute_definitions;
  std::vector<Attribute> attributes;  // network attributes

  const Message* find_message(std::string_view message_name) const;
  const Message* find_message(std::uint32_t id, bool extended) const;
  const AttributeDefinition* find_attribute_definition(std::string_view name) const;
};

bool operator==(const ValueDescription& a, const ValueDescription& b);
bool operator==(const AttributeValue& a, const AttributeValue& b);
bool operator==(const Attribute& a, const Attribute& b);
bool operator==(const AttributeDefinition& a, const AttributeDefinition& b);
bool operator==(const Signal& a, const Signal& b);
bool operator==(const SignalGroup& a, const SignalGroup& b);
bool operator==(const MuxRange& a, const MuxRange& b);
bool operator==(const ExtendedMux& a, const ExtendedMux& b);
bool operator==(const Message& a, const Message& b);
bool operator==(const Node& a, const Node& b);
bool operator==(const ValueTable& a, const ValueTable& b);
bool operator==(const Database& a, const Database& b);
inline bool operator!=(const ValueDescription& a, const ValueDescription& b) { return !(a == b); }
inline bool operator!=(const AttributeValue& a, const AttributeValue& b) { return !(a == b); }
inline bool operator!=(const Attribute& a, const Attribute& b) { return !(a == b); }
inline bool operator!=(const AttributeDefinition& a, const AttributeDefinition& b) {
  return !(a == b);
}
inline bool operator!=(const Signal& a, const Signal& b) { return !(a == b); }
inline bool operator!=(const SignalGroup& a, const SignalGroup& b) { return !(a == b); }
inline bool operator!=(const MuxRange& a, const MuxRange& b) { return !(a == b); }
inline bool operator!=(const ExtendedMux& a, const ExtendedMux& b) { return !(a == b); }
inline bool operator!=(const Message& a, const Message& b) { return !(a == b); }
inline bool operator!=(const Node& a, const Node& b) { return !(a == b); }
inline bool operator!=(const ValueTable& a, const ValueTable& b) { return !(a == b); }
inline bool operator!=(const Database& a, const Database& b) { return !(a == b); }

// Frame bit positions of a signal, index k = signal bit k (k = 0 is the LSB). A position is
// 8 * byte + bit_in_byte with bit_in_byte 0 = least significant bit of the byte. Positions may
// exceed the message for an invalid signal; validate_database reports that.
std::vector<int> signal_bit_positions(const Signal& signal);

struct ParseResult {
  Database database;
  Diagnostics diagnostics;
  bool ok() const { return diagnostics.empty(); }
};

// Parses DBC text. All recoverable problems of the file are reported, each with line and column;
// the database holds whatever could be read. `file_name` is used in the diagnostics only.
ParseResult parse_dbc(std::string_view text, const std::string& file_name);
ParseResult load_dbc_file(const std::string& path);

// Semantic checks of a database (layout, duplicates, multiplexing, attribute types). parse_dbc
// runs this; call it yourself for a database built in code.
Diagnostics validate_database(const Database& db, const std::string& file_name);

// Sets Message::cycle_time_ms and Message::is_fd from the GenMsgCycleTime and VFrameFormat
// attributes and their BA_DEF_DEF_ defaults. parse_dbc runs this.
void resolve_derived_properties(Database& db);

// Writes a DBC file that re-parses to an equal Database. Output depends only on the database.
// Cycle time and CAN FD flags that disagree with the attributes are written as attributes
// (adding their definitions when missing), so the derived fields survive the round trip.
std::string to_dbc_text(const Database& db);

}  // namespace packsim::can
