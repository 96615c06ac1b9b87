// DBC tokenizer: identifiers, numbers, strings (multi-line, \" and \\ escapes), punctuation and
// "//" line comments. Every token carries its line and column for diagnostics.

#include <array>

#include "dbc_internal.hpp"

namespace packsim::can::detail {
namespace {

bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space_and_comments();
      Token t;
      t.line = line_;
      t.column = col_;
      t.first_on_line = at_line_start_;
      at_line_start_ = false;
      if (i_ >= s_.size()) {
        t.kind = Tok::kEnd;
        t.end_line = line_;
        t.end_column = col_;
        out.push_back(std::move(t));
        return out;
      }
      const std::size_t begin = i_;
      lex_one(t);
      t.text = s_.substr(begin, i_ - begin);
      t.end_line = line_;
      t.end_column = col_;
      out.push_back(std::move(t));
    }
  }

 private:
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  void advance() {
    if (s_[i_] == '\n') {
      ++line_;
      col_ = 1;
      at_line_start_ = true;
    } else {
      ++col_;
    }
    ++i_;
  }

  void skip_space_and_comments() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
        advance();
      } else if (c == '/' && peek(1) == '/') {
        while (i_ < s_.size() && s_[i_] != '\n') advance();
      } else {
        return;
      }
    }
  }

  void lex_one(Token& t) {
    const char c = peek();
    if (c == '"') {
      lex_string(t);
      return;
    }
    if (is_digit(c) ||
        ((c == '-' || c == '+') && (is_digit(peek(1)) || (peek(1) == '.' && is_digit(peek(2))))) ||
        (c == '.' && is_digit(peek(1)))) {
      lex_number(t);
      return;
    }
    if (is_ident_start(c)) {
      while (i_ < s_.size() && is_ident_char(s_[i_])) advance();
      t.kind = Tok::kIdent;
      return;
    }
    advance();
    switch (c) {
      case ':':
        t.kind = Tok::kColon;
        break;
      case ';':
        t.kind = Tok::kSemicolon;
        break;
      case '|':
        t.kind = Tok::kPipe;
        break;
      case '@':
        t.kind = Tok::kAt;
        break;
      case ',':
        t.kind = Tok::kComma;
        break;
      case '(':
        t.kind = Tok::kLParen;
        break;
      case ')':
        t.kind = Tok::kRParen;
        break;
      case '[':
        t.kind = Tok::kLBracket;
        break;
      case ']':
        t.kind = Tok::kRBracket;
        break;
      case '+':
        t.kind = Tok::kPlus;
        break;
      case '-':
        t.kind = Tok::kMinus;
        break;
      default:
        t.kind = Tok::kInvalid;
        break;
    }
  }

  void lex_number(Token& t) {
    t.kind = Tok::kNumber;
    if (peek() == '-' || peek() == '+') advance();
    while (is_digit(peek())) advance();
    if (peek() == '.') {
      advance();
      while (is_digit(peek())) advance();
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (is_digit(peek(1)) || ((peek(1) == '-' || peek(1) == '+') && is_digit(peek(2))))) {
      advance();
      if (peek() == '-' || peek() == '+') advance();
      while (is_digit(peek())) advance();
    }
  }

  void lex_string(Token& t) {
    advance();  // opening quote
    std::string value;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        advance();
        t.kind = Tok::kString;
        t.value = std::move(value);
        // A line break inside the string does not make the next token the first on its line: it
        // follows the string on the line where the string ends.
        at_line_start_ = false;
        return;
      }
      if (c == '\\' && (peek(1) == '"' || peek(1) == '\\')) {
        value.push_back(peek(1));
        advance();
        advance();
        continue;
      }
      value.push_back(c);
      advance();
    }
    t.kind = Tok::kInvalid;  // unterminated: runs to the end of the file
    t.value = "unterminated string";
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
  bool at_line_start_ = true;
};

}  // namespace

std::vector<Token> tokenize(std::string_view text) { return Lexer(text).run(); }

std::size_t find_disallowed_char(std::string_view s, TextRule rule) {
  for (std::size_t k = 0; k < s.size(); ++k) {
    if (!is_allowed_char(s[k], rule)) return k;
  }
  return std::string_view::npos;
}

std::string describe_disallowed_char(char c) {
  if (c == '\n') return "a line break (LF)";
  if (c == '\r') return "a carriage return (CR)";
  constexpr char kHex[] = "0123456789ABCDEF";
  const auto u = static_cast<unsigned char>(c);
  return std::string("control character 0x") + kHex[u >> 4] + kHex[u & 0xF];
}

bool is_statement_keyword(std::string_view w) {
  static constexpr std::array<std::string_view, 35> kKeywords = {
      "VERSION",     "NS_",           "BS_",
      "BU_",         "VAL_TABLE_",    "BO_",
      "SG_",         "BO_TX_BU_",     "CM_",
      "BA_DEF_",     "BA_DEF_DEF_",   "BA_",
      "VAL_",        "SIG_VALTYPE_",  "SIG_GROUP_",
      "SG_MUL_VAL_", "EV_",           "ENVVAR_DATA_",
      "SGTYPE_",     "SGTYPE_VAL_",   "BA_DEF_SGTYPE_",
      "BA_SGTYPE_",  "SIG_TYPE_REF_", "SIGTYPE_VALTYPE_",
      "BA_DEF_REL_", "BA_REL_",       "BA_DEF_DEF_REL_",
      "BU_SG_REL_",  "BU_EV_REL_",    "BU_BO_REL_",
      "CAT_DEF_",    "CAT_",          "FILTER",
      "NS_DESC_",    "EV_DATA_"};
  for (auto k : kKeywords) {
    if (k == w) return true;
  }
  return false;
}

}  // namespace packsim::can::detail
