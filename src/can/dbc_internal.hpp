#pragma once
// Internals shared by the DBC parser, validator and writer. Not installed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "packsim/can/dbc.hpp"

namespace packsim::can::detail {

// ---- Lexer ----------------------------------------------------------------------------------

enum class Tok : std::uint8_t {
  kEnd,
  kIdent,   // identifiers and keywords
  kNumber,  // [-+]digits[.digits][e[-+]digits]
  kString,  // "...", value unescaped
  kColon,
  kSemicolon,
  kPipe,
  kAt,
  kComma,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kPlus,
  kMinus,
  kInvalid,  // a character the DBC grammar has no use for, or an unterminated string
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;  // source text (strings: including quotes)
  std::string value;      // unescaped string contents
  int line = 0;
  int column = 0;
  int end_line = 0;  // position just after the token
  int end_column = 0;
  bool first_on_line = false;
};

std::vector<Token> tokenize(std::string_view text);

bool is_statement_keyword(std::string_view word);

// ---- Shared helpers -------------------------------------------------------------------------

const Attribute* find_attribute(const std::vector<Attribute>& attrs, std::string_view name);
std::optional<AttributeValue> effective_attribute(const Database& db,
                                                  const std::vector<Attribute>& attrs,
                                                  std::string_view name);
int resolve_cycle_time(const Database& db, const Message& m);
std::string resolve_frame_format(const Database& db, const Message& m);
bool resolve_is_fd(const Database& db, const Message& m);

// Shortest text that parses back to exactly `v` (integers without decimal point).
std::string format_number(double v);

// Whether a number fits an INT, HEX or FLOAT attribute definition's range; "0 0" means no range
// (as Vector's tools read it).
inline bool attribute_in_range(const AttributeDefinition& d, double v) {
  return (d.minimum == 0.0 && d.maximum == 0.0) || (v >= d.minimum && v <= d.maximum);
}
// Strings, one rule for the parser, the validator and the writer: a comment (CM_) may span lines
// (tab, CR and LF allowed, as Vector's tools write long comments); every other string (unit, value
// description, attribute name and value, ENUM choice, VERSION) is one line: a tab at most. No other
// control character (below 0x20, DEL) anywhere. A line break in a unit would put the rest of its
// SG_ line on the next one, where line-based readers (and `dbc decode`'s one line per frame) break.
enum class TextRule : std::uint8_t { kOneLine, kMultiLine };
inline bool is_allowed_char(char c, TextRule rule) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u != 0x7F) return true;
  return c == '\t' || (rule == TextRule::kMultiLine && (c == '\n' || c == '\r'));
}
// Index of the first byte of `s` that `rule` does not allow; npos when there is none.
std::size_t find_disallowed_char(std::string_view s, TextRule rule);
// What that byte is, for messages: "a line break (LF)", "control character 0x01".
std::string describe_disallowed_char(char c);

// "..." with \" and \\ escaped. A byte `rule` does not allow (only in a database built in code:
// the parser refuses them, validate_database reports them) is written as a space, so the file
// always reads back.
std::string quote(std::string_view s, TextRule rule = TextRule::kOneLine);

}  // namespace packsim::can::detail
