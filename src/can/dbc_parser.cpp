// DBC parser. Statements are parsed one by one; on an error the parser records a located
// diagnostic and resumes at the next statement keyword that starts a line, so one run reports
// every problem of the file. References (CM_, BA_, VAL_, ... naming messages and signals) are
// resolved after the whole file is read, so their order in the file does not matter.

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "dbc_internal.hpp"
#include "dbc_validate.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/frame.hpp"
#include "packsim/util/input_file.hpp"

namespace packsim::can {
namespace {

using detail::Tok;
using detail::Token;

struct ParseFailure {};

constexpr std::string_view kNoNode = "Vector__XXX";
constexpr std::string_view kIndependentSignals = "VECTOR__INDEPENDENT_SIG_MSG";

struct ObjectRef {
  AttributeObject kind = AttributeObject::kNetwork;
  std::string node;  // kNode, kEnvVar
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  std::string signal;
  SourcePos name_pos;  // node, signal or env var name
};

struct PendingComment {
  ObjectRef target;
  std::string text;
};

struct PendingAttribute {
  std::string name;
  SourcePos name_pos;
  ObjectRef target;
  AttributeValue value;
  SourcePos value_pos;
};

struct PendingDefault {
  std::string name;
  SourcePos name_pos;
  AttributeValue value;
  SourcePos value_pos;
};

struct PendingValues {
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  std::string signal;
  SourcePos signal_pos;
  std::vector<ValueDescription> values;
};

struct PendingValueType {
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  std::string signal;
  SourcePos signal_pos;
  ValueType type = ValueType::kInteger;
};

struct PendingGroup {
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  SignalGroup group;
  std::vector<SourcePos> signal_pos;
};

struct PendingExtMux {
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  ExtendedMux mux;
  SourcePos signal_pos;
  SourcePos mux_pos;
  std::vector<SourcePos> range_pos;  // of each range's low end
};

struct PendingTransmitters {
  std::uint32_t dbc_id = 0;
  SourcePos id_pos;
  std::vector<std::string> names;
  std::vector<SourcePos> name_pos;
};

std::string object_keyword(AttributeObject o) {
  switch (o) {
    case AttributeObject::kNetwork:
      return "the network";
    case AttributeObject::kNode:
      return "nodes (BU_)";
    case AttributeObject::kMessage:
      return "messages (BO_)";
    case AttributeObject::kSignal:
      return "signals (SG_)";
    case AttributeObject::kEnvVar:
      return "environment variables (EV_)";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view text, std::string file, Diagnostics& diag)
      : toks_(detail::tokenize(text)), file_(std::move(file)), diag_(diag) {}

  Database run() {
    while (tok().kind != Tok::kEnd) {
      const std::size_t start = i_;
      try {
        statement();
      } catch (const ParseFailure&) {
        skip_statement(start);
      }
    }
    resolve();
    return std::move(db_);
  }

 private:
  // ---- token access and errors --------------------------------------------------------------

  const Token& tok() const { return toks_[i_]; }
  const Token& peek(std::size_t n = 1) const {
    return toks_[i_ + n < toks_.size() ? i_ + n : toks_.size() - 1];
  }
  void next() {
    if (toks_[i_].kind != Tok::kEnd) ++i_;
  }
  static SourcePos pos(const Token& t) { return SourcePos{t.line, t.column}; }

  void error(SourcePos p, std::string msg) {
    diag_.error(SourceLocation{file_, p.line, p.column}, std::move(msg));
  }
  [[noreturn]] void fail(const Token& at, std::string msg) {
    error(pos(at), std::move(msg));
    throw ParseFailure{};
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of file";
      case Tok::kString:
        return "string \"" + t.value.substr(0, 40) + "\"";
      case Tok::kInvalid:
        if (!t.value.empty()) return t.value;
        return "'" + std::string(t.text) + "'";
      default:
        return "'" + std::string(t.text) + "'";
    }
  }

  [[noreturn]] void fail_expected(const std::string& what) {
    fail(tok(), "expected " + what + ", found " + describe(tok()));
  }

  bool is_keyword(const Token& t, std::string_view word) const {
    return t.kind == Tok::kIdent && t.text == word;
  }
  bool at_statement_start() const {
    return tok().kind == Tok::kEnd || (tok().first_on_line && tok().kind == Tok::kIdent &&
                                       detail::is_statement_keyword(tok().text));
  }

  void expect(Tok kind, const std::string& what) {
    if (tok().kind != kind) fail_expected(what);
    next();
  }

  // A missing ';' is reported where it belongs: right after the previous token.
  void expect_semicolon(std::string_view statement) {
    if (tok().kind == Tok::kSemicolon) {
      next();
      return;
    }
    const Token& prev = toks_[i_ > 0 ? i_ - 1 : 0];
    error(SourcePos{prev.end_line, prev.end_column}, "expected ';' to end the " +
                                                         std::string(statement) +
                                                         " statement, found " + describe(tok()));
    throw ParseFailure{};
  }

  std::string expect_ident(const std::string& what) {
    if (tok().kind != Tok::kIdent) fail_expected(what);
    std::string s(tok().text);
    next();
    return s;
  }

  // The string rule (detail::TextRule) is checked here, for every string the parser keeps, and
  // reported at the offending character; the value is kept so the rest of the file is checked.
  void check_text(const Token& t, detail::TextRule rule) {
    const std::size_t bad = detail::find_disallowed_char(t.value, rule);
    if (bad == std::string_view::npos) return;
    // The same byte in the source text (escapes are two printable bytes there), for its position.
    const std::size_t at = detail::find_disallowed_char(t.text.substr(1), rule) + 1;
    SourcePos p = pos(t);
    for (std::size_t k = 0; k < at; ++k) {
      if (t.text[k] == '\n') {
        ++p.line;
        p.column = 1;
      } else {
        ++p.column;
      }
    }
    error(p, "string contains " + detail::describe_disallowed_char(t.value[bad]) +
                 (rule == detail::TextRule::kOneLine
                      ? "; expected one line of text (only comments may span lines)"
                      : "; expected text, tabs and line breaks"));
  }

  std::string expect_string(const std::string& what,
                            detail::TextRule rule = detail::TextRule::kOneLine) {
    if (tok().kind != Tok::kString) fail_expected(what);
    check_text(tok(), rule);
    std::string s = tok().value;
    next();
    return s;
  }

  double expect_number(const std::string& what) {
    if (tok().kind != Tok::kNumber) fail_expected(what);
    std::string_view t = tok().text;
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    double v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
      fail(tok(), "number '" + std::string(tok().text) + "' is out of range; expected " + what);
    }
    next();
    return v;
  }

  bool is_integer_token(const Token& t) const {
    return t.kind == Tok::kNumber && t.text.find_first_of(".eE") == std::string_view::npos;
  }

  std::int64_t expect_int(const std::string& what, std::int64_t lo, std::int64_t hi) {
    if (!is_integer_token(tok())) fail_expected(what);
    std::string_view t = tok().text;
    if (t.front() == '+') t.remove_prefix(1);
    std::int64_t v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size() || v < lo || v > hi) {
      fail(tok(), "integer " + std::string(tok().text) + " is out of range; expected " + what);
    }
    next();
    return v;
  }

  std::uint64_t expect_uint(const std::string& what, std::uint64_t hi) {
    if (!is_integer_token(tok()) || tok().text.front() == '-') fail_expected(what);
    std::string_view t = tok().text;
    if (t.front() == '+') t.remove_prefix(1);
    std::uint64_t v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc() || r.ptr != t.data() + t.size() || v > hi) {
      fail(tok(), "integer " + std::string(tok().text) + " is out of range; expected " + what);
    }
    next();
    return v;
  }

  std::uint32_t expect_message_id(SourcePos& at) {
    at = pos(tok());
    return static_cast<std::uint32_t>(expect_uint("a message id", 0xFFFFFFFFu));
  }

  void skip_statement(std::size_t start) {
    if (i_ <= start) i_ = start + 1 < toks_.size() ? start + 1 : toks_.size() - 1;
    while (!at_statement_start()) next();
  }

  // ---- statements ---------------------------------------------------------------------------

  void statement() {
    const Token& t = tok();
    if (t.kind != Tok::kIdent) {
      fail(t, "expected a DBC keyword such as BO_, SG_, CM_, BA_ or VAL_, found " + describe(t));
    }
    const std::string_view w = t.text;
    if (w != "SG_") current_ = kNoMessage;
    if (w == "VERSION") return version();
    if (w == "NS_") return new_symbols();
    if (w == "BS_") return bit_timing();
    if (w == "BU_") return nodes();
    if (w == "VAL_TABLE_") return value_table();
    if (w == "BO_") return message();
    if (w == "SG_") return signal();
    if (w == "BO_TX_BU_") return transmitters();
    if (w == "CM_") return comment();
    if (w == "BA_DEF_") return attribute_definition();
    if (w == "BA_DEF_DEF_") return attribute_default();
    if (w == "BA_") return attribute();
    if (w == "VAL_") return value_descriptions();
    if (w == "SIG_VALTYPE_") return signal_value_type();
    if (w == "SIG_GROUP_") return signal_group();
    if (w == "SG_MUL_VAL_") return extended_multiplexing();
    if (detail::is_statement_keyword(w)) return unsupported();
    fail(t, "unknown keyword '" + std::string(w) +
                "'; expected a DBC statement such as BO_, SG_, CM_, BA_ or VAL_");
  }

  void version() {
    next();
    db_.version = expect_string("the version string after VERSION");
  }

  void new_symbols() {
    next();
    expect(Tok::kColon, "':' after NS_");
    // The list ends before the first token followed by ':' (normally "BS_:").
    while (tok().kind != Tok::kEnd && peek().kind != Tok::kColon) {
      if (is_keyword(tok(), "BS_") || is_keyword(tok(), "BU_") || is_keyword(tok(), "BO_")) break;
      next();
    }
  }

  void bit_timing() {
    next();
    expect(Tok::kColon, "':' after BS_");
    // Obsolete baudrate:BTR1,BTR2 values are accepted and dropped.
    while (!tok().first_on_line &&
           (tok().kind == Tok::kNumber || tok().kind == Tok::kColon || tok().kind == Tok::kComma)) {
      next();
    }
  }

  void nodes() {
    next();
    expect(Tok::kColon, "':' after BU_");
    while (tok().kind == Tok::kIdent && !detail::is_statement_keyword(tok().text)) {
      if (tok().text != kNoNode) {
        Node n;
        n.name = std::string(tok().text);
        n.pos = pos(tok());
        db_.nodes.push_back(std::move(n));
      }
      next();
    }
  }

  std::vector<ValueDescription> value_list(std::string_view statement) {
    std::vector<ValueDescription> values;
    while (tok().kind != Tok::kSemicolon) {
      if (tok().kind != Tok::kNumber) {
        if (at_statement_start()) expect_semicolon(statement);
        fail_expected("a raw value (integer) or ';' in " + std::string(statement));
      }
      ValueDescription d;
      d.value = expect_int("an integer raw value", std::numeric_limits<std::int64_t>::min(),
                           std::numeric_limits<std::int64_t>::max());
      d.text = expect_string("the description string after the raw value");
      values.push_back(std::move(d));
    }
    next();
    return values;
  }

  void value_table() {
    next();
    ValueTable t;
    t.name = expect_ident("a value table name after VAL_TABLE_");
    t.values = value_list("VAL_TABLE_");
    db_.value_tables.push_back(std::move(t));
  }

  void message() {
    next();
    SourcePos id_pos;
    const std::uint32_t dbc_id = expect_message_id(id_pos);
    current_ = kDiscard;  // until the header is complete
    const Token& name_tok = tok();
    std::string name = expect_ident("a message name after the message id");
    expect(Tok::kColon, "':' after the message name");
    const std::int64_t size = expect_int("a message size in bytes (0..64)", 0, 0xFFFF);
    std::string sender = expect_ident("a sender node name (or Vector__XXX) after the size");
    if (name == kIndependentSignals) {
      // Vector's container for signals not in any message: not a frame, dropped (as cantools).
      ignored_ids_.insert(dbc_id);
      return;
    }
    Message m;
    m.extended = (dbc_id & kDbcExtendedFlag) != 0;
    m.id = dbc_id & ~kDbcExtendedFlag;
    m.name = std::move(name);
    m.pos = pos(name_tok);
    m.size = static_cast<std::uint32_t>(size);
    if (sender != kNoNode) m.sender = std::move(sender);
    db_.messages.push_back(std::move(m));
    current_ = db_.messages.size() - 1;
  }

  void signal() {
    const Token& kw = tok();
    next();
    if (current_ == kNoMessage) {
      fail(kw, "SG_ outside of a message; expected signals right after their BO_ line");
    }
    Signal s;
    s.pos = pos(tok());
    s.name = expect_ident("a signal name after SG_");
    if (tok().kind == Tok::kIdent) {
      const std::string_view ind = tok().text;
      if (ind == "M") {
        s.mux_role = MuxRole::kMultiplexor;
      } else if (ind.size() >= 2 && ind[0] == 'm') {
        std::string_view digits = ind.substr(1);
        const bool also_multiplexor = digits.back() == 'M';
        if (also_multiplexor) digits.remove_suffix(1);
        std::uint64_t v = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
          fail_expected("':' or a multiplexer indicator (M or mN) after the signal name");
        }
        if (also_multiplexor) {
          fail(tok(), "nested multiplexing ('" + std::string(ind) +
                          "') is not supported; expected M or mN");
        }
        s.mux_role = MuxRole::kMultiplexed;
        s.mux_value = v;
      } else {
        fail_expected("':' or a multiplexer indicator (M or mN) after the signal name");
      }
      next();
    }
    expect(Tok::kColon, "':' after the signal name");
    const Token& start_tok = tok();
    s.start_bit = static_cast<int>(expect_int("a start bit", 0, 1000000));
    if (s.start_bit > 511)
      fail(start_tok,
           "start bit " + std::to_string(s.start_bit) + " is out of range; expected 0..511");
    expect(Tok::kPipe, "'|' after the start bit");
    const Token& len_tok = tok();
    s.length = static_cast<int>(expect_int("a signal length", 0, 1000000));
    if (s.length < 1 || s.length > 64) {
      fail(len_tok, "signal '" + s.name + "' has length " + std::to_string(s.length) +
                        "; expected 1..64 bits");
    }
    expect(Tok::kAt, "'@' after the signal length");
    if (is_integer_token(tok()) && tok().text == "0") {
      s.byte_order = ByteOrder::kBigEndian;
    } else if (is_integer_token(tok()) && tok().text == "1") {
      s.byte_order = ByteOrder::kLittleEndian;
    } else {
      fail_expected("byte order 0 (Motorola) or 1 (Intel) after '@'");
    }
    next();
    if (tok().kind == Tok::kPlus) {
      s.is_signed = false;
    } else if (tok().kind == Tok::kMinus) {
      s.is_signed = true;
    } else {
      fail_expected("'+' (unsigned) or '-' (signed) after the byte order");
    }
    next();
    expect(Tok::kLParen, "'(' before the factor");
    const Token& factor_tok = tok();
    s.factor = expect_number("a factor");
    if (s.factor == 0.0) {
      fail(factor_tok, "signal '" + s.name + "' has factor 0; expected a non-zero factor");
    }
    expect(Tok::kComma, "',' between factor and offset");
    s.offset = expect_number("an offset");
    expect(Tok::kRParen, "')' after the offset");
    expect(Tok::kLBracket, "'[' before the minimum");
    s.minimum = expect_number("a minimum");
    expect(Tok::kPipe, "'|' between minimum and maximum");
    s.maximum = expect_number("a maximum");
    expect(Tok::kRBracket, "']' after the maximum");
    s.unit = expect_string("the unit string");
    // Receivers: node names separated by commas (or blanks), up to the end of the line.
    while (!tok().first_on_line && (tok().kind == Tok::kIdent || tok().kind == Tok::kComma)) {
      if (tok().kind == Tok::kIdent && tok().text != kNoNode) {
        s.receivers.emplace_back(tok().text);
      }
      next();
    }
    if (!at_statement_start()) fail_expected("a receiver node name or the end of the line");
    if (current_ != kDiscard) db_.messages[current_].signals.push_back(std::move(s));
  }

  void transmitters() {
    next();
    PendingTransmitters p;
    p.dbc_id = expect_message_id(p.id_pos);
    expect(Tok::kColon, "':' after the message id");
    while (tok().kind == Tok::kIdent || tok().kind == Tok::kComma) {
      if (tok().kind == Tok::kIdent) {
        p.names.emplace_back(tok().text);
        p.name_pos.push_back(pos(tok()));
      }
      next();
    }
    expect_semicolon("BO_TX_BU_");
    pending_transmitters_.push_back(std::move(p));
  }

  // [BU_ name | BO_ id | SG_ id name | EV_ name]; network when none of these follows.
  ObjectRef object_ref() {
    ObjectRef r;
    if (is_keyword(tok(), "BU_")) {
      next();
      r.kind = AttributeObject::kNode;
      r.name_pos = pos(tok());
      r.node = expect_ident("a node name after BU_");
    } else if (is_keyword(tok(), "BO_")) {
      next();
      r.kind = AttributeObject::kMessage;
      r.dbc_id = expect_message_id(r.id_pos);
    } else if (is_keyword(tok(), "SG_")) {
      next();
      r.kind = AttributeObject::kSignal;
      r.dbc_id = expect_message_id(r.id_pos);
      r.name_pos = pos(tok());
      r.signal = expect_ident("a signal name after the message id");
    } else if (is_keyword(tok(), "EV_")) {
      next();
      r.kind = AttributeObject::kEnvVar;
      r.name_pos = pos(tok());
      r.node = expect_ident("an environment variable name after EV_");
    }
    return r;
  }

  void comment() {
    next();
    PendingComment c;
    c.target = object_ref();
    c.text = expect_string("the comment string", detail::TextRule::kMultiLine);
    expect_semicolon("CM_");
    pending_comments_.push_back(std::move(c));
  }

  void attribute_definition() {
    next();
    AttributeDefinition d;
    if (is_keyword(tok(), "BU_")) {
      d.object = AttributeObject::kNode;
    } else if (is_keyword(tok(), "BO_")) {
      d.object = AttributeObject::kMessage;
    } else if (is_keyword(tok(), "SG_")) {
      d.object = AttributeObject::kSignal;
    } else if (is_keyword(tok(), "EV_")) {
      d.object = AttributeObject::kEnvVar;
    }
    if (d.object != AttributeObject::kNetwork) next();
    const Token& name_tok = tok();
    d.name = expect_string("the attribute name string");
    const Token& type_tok = tok();
    const std::string type = expect_ident("an attribute type (INT, HEX, FLOAT, STRING or ENUM)");
    if (type == "INT" || type == "HEX" || type == "FLOAT") {
      d.type = type == "INT" ? AttributeType::kInt
                             : (type == "HEX" ? AttributeType::kHex : AttributeType::kFloat);
      d.minimum = expect_number("the minimum of the " + type + " attribute");
      d.maximum = expect_number("the maximum of the " + type + " attribute");
    } else if (type == "STRING") {
      d.type = AttributeType::kString;
    } else if (type == "ENUM") {
      d.type = AttributeType::kEnum;
      while (tok().kind == Tok::kString || tok().kind == Tok::kComma) {
        if (tok().kind == Tok::kString) {
          check_text(tok(), detail::TextRule::kOneLine);
          d.enum_values.push_back(tok().value);
        }
        next();
      }
    } else {
      fail(type_tok,
           "unknown attribute type '" + type + "'; expected INT, HEX, FLOAT, STRING or ENUM");
    }
    expect_semicolon("BA_DEF_");
    if (db_.find_attribute_definition(d.name) != nullptr) {
      fail(name_tok, "attribute '" + d.name + "' is defined twice; expected one BA_DEF_ per name");
    }
    db_.attribute_definitions.push_back(std::move(d));
  }

  AttributeValue attribute_value(SourcePos& at) {
    at = pos(tok());
    if (tok().kind == Tok::kString) {
      check_text(tok(), detail::TextRule::kOneLine);
      AttributeValue v = AttributeValue::of_string(tok().value);
      next();
      return v;
    }
    if (tok().kind == Tok::kNumber) return AttributeValue::of_number(expect_number("a value"));
    fail_expected("an attribute value (number or string)");
  }

  void attribute_default() {
    next();
    PendingDefault p;
    p.name_pos = pos(tok());
    p.name = expect_string("the attribute name string");
    p.value = attribute_value(p.value_pos);
    expect_semicolon("BA_DEF_DEF_");
    pending_defaults_.push_back(std::move(p));
  }

  void attribute() {
    next();
    PendingAttribute p;
    p.name_pos = pos(tok());
    p.name = expect_string("the attribute name string");
    p.target = object_ref();
    p.value = attribute_value(p.value_pos);
    expect_semicolon("BA_");
    pending_attributes_.push_back(std::move(p));
  }

  void value_descriptions() {
    next();
    if (tok().kind == Tok::kIdent) {  // VAL_ for an environment variable: not modelled
      next();
      value_list("VAL_");
      return;
    }
    PendingValues p;
    p.dbc_id = expect_message_id(p.id_pos);
    p.signal_pos = pos(tok());
    p.signal = expect_ident("a signal name after the message id");
    p.values = value_list("VAL_");
    pending_values_.push_back(std::move(p));
  }

  void signal_value_type() {
    next();
    PendingValueType p;
    p.dbc_id = expect_message_id(p.id_pos);
    p.signal_pos = pos(tok());
    p.signal = expect_ident("a signal name after the message id");
    if (tok().kind == Tok::kColon) next();
    const std::int64_t t = expect_int("a value type (0 integer, 1 float, 2 double)", 0, 2);
    p.type = t == 0 ? ValueType::kInteger : (t == 1 ? ValueType::kFloat32 : ValueType::kFloat64);
    expect_semicolon("SIG_VALTYPE_");
    pending_value_types_.push_back(std::move(p));
  }

  void signal_group() {
    next();
    PendingGroup p;
    p.dbc_id = expect_message_id(p.id_pos);
    p.group.name = expect_ident("a signal group name");
    p.group.repetitions =
        static_cast<std::uint32_t>(expect_uint("the repetition count", 0xFFFFFFFFu));
    expect(Tok::kColon, "':' after the repetition count");
    while (tok().kind == Tok::kIdent || tok().kind == Tok::kComma) {
      if (tok().kind == Tok::kIdent) {
        p.group.signals.emplace_back(tok().text);
        p.signal_pos.push_back(pos(tok()));
      }
      next();
    }
    expect_semicolon("SIG_GROUP_");
    pending_groups_.push_back(std::move(p));
  }

  void extended_multiplexing() {
    next();
    PendingExtMux p;
    p.dbc_id = expect_message_id(p.id_pos);
    p.signal_pos = pos(tok());
    p.mux.signal = expect_ident("a signal name after the message id");
    p.mux_pos = pos(tok());
    p.mux.multiplexor = expect_ident("the multiplexor signal name");
    for (;;) {
      MuxRange r;
      const Token& low_tok = tok();
      r.low = expect_uint("a range 'low-high'", std::numeric_limits<std::uint64_t>::max());
      // "3-5" lexes as 3 and -5; "3 - 5" as 3, '-', 5.
      if (tok().kind == Tok::kMinus) {
        next();
        r.high =
            expect_uint("the upper end of the range", std::numeric_limits<std::uint64_t>::max());
      } else if (is_integer_token(tok()) && tok().text.front() == '-') {
        std::string_view t = tok().text.substr(1);
        const auto res = std::from_chars(t.data(), t.data() + t.size(), r.high);
        if (res.ec != std::errc()) fail_expected("the upper end of the range");
        next();
      } else {
        fail_expected("'-' and the upper end of the range");
      }
      if (r.low > r.high) {
        fail(low_tok, "SG_MUL_VAL_ range " + std::to_string(r.low) + "-" + std::to_string(r.high) +
                          " of signal '" + p.mux.signal + "' is empty; expected low <= high");
      }
      p.mux.ranges.push_back(r);
      p.range_pos.push_back(pos(low_tok));
      if (tok().kind != Tok::kComma) break;
      next();
    }
    expect_semicolon("SG_MUL_VAL_");
    pending_ext_mux_.push_back(std::move(p));
  }

  // Statements packsim does not model (EV_, SGTYPE_, relations, ...): skipped up to their ';'.
  void unsupported() {
    next();
    while (tok().kind != Tok::kSemicolon && !at_statement_start()) next();
    if (tok().kind == Tok::kSemicolon) next();
  }

  // ---- resolution of references -------------------------------------------------------------

  Message* message_by_dbc_id(std::uint32_t dbc_id) {
    const auto it = message_index_.find(dbc_id);
    return it == message_index_.end() ? nullptr : &db_.messages[it->second];
  }
  Node* node_by_name(std::string_view name) {
    for (auto& n : db_.nodes) {
      if (n.name == name) return &n;
    }
    return nullptr;
  }

  // Finds the message (and the signal) a reference names; reports and returns false otherwise.
  // References to the dropped VECTOR__INDEPENDENT_SIG_MSG are silently ignored.
  bool lookup(std::string_view statement, std::uint32_t dbc_id, SourcePos id_pos,
              const std::string* signal, SourcePos signal_pos, Message*& m, Signal*& s) {
    m = nullptr;
    s = nullptr;
    if (ignored_ids_.count(dbc_id) != 0) return false;
    m = message_by_dbc_id(dbc_id);
    if (m == nullptr) {
      error(id_pos, std::string(statement) + " refers to unknown message id " +
                        std::to_string(dbc_id) + "; expected the id of a BO_ message");
      return false;
    }
    if (signal != nullptr) {
      s = m->find_signal(*signal);
      if (s == nullptr) {
        error(signal_pos, std::string(statement) + " refers to unknown signal '" + *signal +
                              "' in message '" + m->name + "' (" + std::to_string(dbc_id) +
                              "); expected a signal of that message");
        return false;
      }
    }
    return true;
  }

  static std::string object_name(const ObjectRef& r) {
    switch (r.kind) {
      case AttributeObject::kNetwork:
        return "the network";
      case AttributeObject::kNode:
        return "a node (BU_)";
      case AttributeObject::kMessage:
        return "a message (BO_)";
      case AttributeObject::kSignal:
        return "a signal (SG_)";
      case AttributeObject::kEnvVar:
        return "an environment variable (EV_)";
    }
    return "?";
  }

  static std::string range_text(const AttributeDefinition& d) {
    return detail::format_number(d.minimum) + ".." + detail::format_number(d.maximum) +
           " (its BA_DEF_ range)";
  }

  // Type and range of a BA_ or BA_DEF_DEF_ value against its BA_DEF_.
  bool check_value_type(const AttributeDefinition& d, const AttributeValue& v, SourcePos at) {
    std::string problem;
    switch (d.type) {
      case AttributeType::kInt:
      case AttributeType::kHex:
        if (v.is_string || v.number != static_cast<double>(static_cast<std::int64_t>(v.number))) {
          problem = "an integer";
        } else if (!detail::attribute_in_range(d, v.number)) {
          problem = "an integer in " + range_text(d);
        }
        break;
      case AttributeType::kFloat:
        if (v.is_string) {
          problem = "a number";
        } else if (!detail::attribute_in_range(d, v.number)) {
          problem = "a number in " + range_text(d);
        }
        break;
      case AttributeType::kString:
        if (!v.is_string) problem = "a string";
        break;
      case AttributeType::kEnum:
        if (v.is_string) {
          bool found = false;
          for (const auto& e : d.enum_values) found = found || e == v.text;
          if (!found) {
            problem = "one of its ENUM values";
            for (std::size_t k = 0; k < d.enum_values.size(); ++k) {
              problem += (k == 0 ? " " : ", ") + detail::quote(d.enum_values[k]);
            }
          }
        } else if (v.number < 0 || v.number >= static_cast<double>(d.enum_values.size()) ||
                   v.number != static_cast<double>(static_cast<std::int64_t>(v.number))) {
          problem = "an ENUM index 0.." + std::to_string(d.enum_values.size()) + " (exclusive)";
        }
        break;
    }
    if (problem.empty()) return true;
    const std::string shown = v.is_string ? "\"" + v.text + "\"" : detail::format_number(v.number);
    error(at, "value " + shown + " does not fit attribute '" + d.name + "'; expected " + problem);
    return false;
  }

  // Every SG_MUL_VAL_ range must fit the multiplexor's bits; reported at the range itself (the
  // validator would otherwise report it at the multiplexed signal's SG_ line).
  bool mux_can_carry(const PendingExtMux& p, const Signal& mux) {
    if (mux.length < 1 || mux.length >= 64) return true;
    const std::uint64_t max = (std::uint64_t{1} << mux.length) - 1;
    for (std::size_t k = 0; k < p.mux.ranges.size(); ++k) {
      const MuxRange& r = p.mux.ranges[k];
      if (r.high <= max) continue;
      error(p.range_pos[k], "SG_MUL_VAL_ range " + std::to_string(r.low) + "-" +
                                std::to_string(r.high) + " of signal '" + p.mux.signal +
                                "' reaches " + std::to_string(r.high) + ", which the " +
                                std::to_string(mux.length) + "-bit multiplexor '" + mux.name +
                                "' cannot carry; expected 0.." + std::to_string(max));
      return false;
    }
    return true;
  }

  static void set_attribute(std::vector<Attribute>& attrs, const std::string& name,
                            const AttributeValue& value) {
    for (auto& a : attrs) {
      if (a.name == name) {
        a.value = value;  // a later BA_ overrides an earlier one
        return;
      }
    }
    attrs.push_back(Attribute{name, value});
  }

  void resolve() {
    for (std::size_t k = 0; k < db_.messages.size(); ++k) {
      message_index_.emplace(db_.messages[k].dbc_id(), k);  // first one wins; dups validated
    }

    for (const auto& p : pending_transmitters_) {
      Message* m = nullptr;
      Signal* s = nullptr;
      if (!lookup("BO_TX_BU_", p.dbc_id, p.id_pos, nullptr, {}, m, s)) continue;
      m->transmitters.insert(m->transmitters.end(), p.names.begin(), p.names.end());
    }

    for (const auto& c : pending_comments_) {
      const ObjectRef& r = c.target;
      Message* m = nullptr;
      Signal* s = nullptr;
      switch (r.kind) {
        case AttributeObject::kNetwork:
          db_.comment += c.text;
          break;
        case AttributeObject::kNode:
          if (Node* n = node_by_name(r.node)) {
            n->comment = c.text;
          } else {
            error(r.name_pos,
                  "CM_ refers to unknown node '" + r.node + "'; expected a node listed in BU_");
          }
          break;
        case AttributeObject::kMessage:
          if (lookup("CM_", r.dbc_id, r.id_pos, nullptr, {}, m, s)) m->comment = c.text;
          break;
        case AttributeObject::kSignal:
          if (lookup("CM_", r.dbc_id, r.id_pos, &r.signal, r.name_pos, m, s)) s->comment = c.text;
          break;
        case AttributeObject::kEnvVar:
          break;  // environment variables are not modelled
      }
    }

    for (const auto& p : pending_defaults_) {
      AttributeDefinition* d = nullptr;
      for (auto& def : db_.attribute_definitions) {
        if (def.name == p.name) d = &def;
      }
      if (d == nullptr) {
        error(p.name_pos,
              "BA_DEF_DEF_ for undefined attribute '" + p.name + "'; expected a BA_DEF_ for it");
        continue;
      }
      if (check_value_type(*d, p.value, p.value_pos)) d->default_value = p.value;
    }

    for (const auto& p : pending_attributes_) {
      const AttributeDefinition* d = db_.find_attribute_definition(p.name);
      if (d == nullptr) {
        error(p.name_pos,
              "BA_ for undefined attribute '" + p.name + "'; expected a BA_DEF_ for it");
        continue;
      }
      if (d->object != p.target.kind) {
        error(p.name_pos, "attribute '" + p.name + "' is defined for " + object_keyword(d->object) +
                              " but assigned to " + object_name(p.target) +
                              "; expected a BA_ on the object kind of its BA_DEF_");
        continue;
      }
      if (!check_value_type(*d, p.value, p.value_pos)) continue;
      const ObjectRef& r = p.target;
      Message* m = nullptr;
      Signal* s = nullptr;
      switch (r.kind) {
        case AttributeObject::kNetwork:
          set_attribute(db_.attributes, p.name, p.value);
          break;
        case AttributeObject::kNode:
          if (Node* n = node_by_name(r.node)) {
            set_attribute(n->attributes, p.name, p.value);
          } else {
            error(r.name_pos,
                  "BA_ refers to unknown node '" + r.node + "'; expected a node listed in BU_");
          }
          break;
        case AttributeObject::kMessage:
          if (lookup("BA_", r.dbc_id, r.id_pos, nullptr, {}, m, s)) {
            set_attribute(m->attributes, p.name, p.value);
          }
          break;
        case AttributeObject::kSignal:
          if (lookup("BA_", r.dbc_id, r.id_pos, &r.signal, r.name_pos, m, s)) {
            set_attribute(s->attributes, p.name, p.value);
          }
          break;
        case AttributeObject::kEnvVar:
          break;
      }
    }

    for (auto& p : pending_values_) {
      Message* m = nullptr;
      Signal* s = nullptr;
      if (lookup("VAL_", p.dbc_id, p.id_pos, &p.signal, p.signal_pos, m, s)) {
        s->value_descriptions = std::move(p.values);
      }
    }

    for (const auto& p : pending_value_types_) {
      Message* m = nullptr;
      Signal* s = nullptr;
      if (lookup("SIG_VALTYPE_", p.dbc_id, p.id_pos, &p.signal, p.signal_pos, m, s)) {
        s->value_type = p.type;
      }
    }

    for (auto& p : pending_groups_) {
      Message* m = nullptr;
      Signal* s = nullptr;
      if (!lookup("SIG_GROUP_", p.dbc_id, p.id_pos, nullptr, {}, m, s)) continue;
      bool ok = true;
      for (std::size_t k = 0; k < p.group.signals.size(); ++k) {
        ok = lookup("SIG_GROUP_", p.dbc_id, p.id_pos, &p.group.signals[k], p.signal_pos[k], m, s) &&
             ok;
      }
      if (ok) m->signal_groups.push_back(std::move(p.group));
    }

    for (auto& p : pending_ext_mux_) {
      Message* m = nullptr;
      Signal* s = nullptr;
      Signal* mux = nullptr;
      if (!lookup("SG_MUL_VAL_", p.dbc_id, p.id_pos, &p.mux.signal, p.signal_pos, m, s)) continue;
      if (!lookup("SG_MUL_VAL_", p.dbc_id, p.id_pos, &p.mux.multiplexor, p.mux_pos, m, mux)) {
        continue;
      }
      if (mux->mux_role != MuxRole::kMultiplexor) {
        error(p.mux_pos, "SG_MUL_VAL_ names '" + p.mux.multiplexor +
                             "' as multiplexor, but it is not marked M; expected the M signal");
        continue;
      }
      if (s->mux_role != MuxRole::kMultiplexed) {
        error(p.signal_pos, "SG_MUL_VAL_ gives ranges for '" + p.mux.signal +
                                "', which is not multiplexed; expected a signal marked mN");
        continue;
      }
      if (!mux_can_carry(p, *mux)) continue;
      m->extended_mux.push_back(std::move(p.mux));
    }
  }

  static constexpr std::size_t kNoMessage = static_cast<std::size_t>(-1);
  static constexpr std::size_t kDiscard = static_cast<std::size_t>(-2);

  std::vector<Token> toks_;
  std::size_t i_ = 0;
  std::string file_;
  Diagnostics& diag_;
  Database db_;
  std::size_t current_ = kNoMessage;
  std::set<std::uint32_t> ignored_ids_;
  std::map<std::uint32_t, std::size_t> message_index_;
  std::vector<PendingTransmitters> pending_transmitters_;
  std::vector<PendingComment> pending_comments_;
  std::vector<PendingDefault> pending_defaults_;
  std::vector<PendingAttribute> pending_attributes_;
  std::vector<PendingValues> pending_values_;
  std::vector<PendingValueType> pending_value_types_;
  std::vector<PendingGroup> pending_groups_;
  std::vector<PendingExtMux> pending_ext_mux_;
};

}  // namespace

ParseResult parse_dbc(std::string_view text, const std::string& file_name) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  ParseResult result;
  result.database = Parser(text, file_name, result.diagnostics).run();
  detail::validate(result.database, file_name, /*check_fields=*/false, result.diagnostics);
  resolve_derived_properties(result.database);
  return result;
}

ParseResult load_dbc_file(const std::string& path) {
  std::string text, problem;
  if (!read_input_file(path, text, problem)) {
    ParseResult r;
    r.diagnostics.error(SourceLocation{path, 0, 0}, problem + " (a DBC file)");
    return r;
  }
  return parse_dbc(text, path);
}

}  // namespace packsim::can
