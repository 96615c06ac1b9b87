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
std::string quote(std::string_view s);  // "..." with \" and \\ escaped

}  // namespace packsim::can::detail
