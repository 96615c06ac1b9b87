#pragma once
// Located error messages shared by every file reader (configs, models, scenarios, DBC files).
// Readers collect all problems of a file into Diagnostics and report them together, each as
// `file:line:col: what is wrong and what was expected`.

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace packsim {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown (the whole file)
  int column = 0;  // 1-based; 0 = unknown
};

// A key as written in an input file, for a message about another file that depends on it:
// "afe.cells_per_module = 20 (configs/x.toml:12:1)". An empty key: not written in any file.
struct KeyRef {
  std::string key;    // its path: "afe.cells_per_module"
  std::string value;  // as written: "20"
  SourceLocation where;
  bool empty() const { return key.empty(); }
};

struct Diagnostic {
  SourceLocation where;
  std::string message;

  // One line, whatever the message quotes from the input: control characters are escaped (\n,
  // \x00), so a message never spills onto a line without its file:line.
  std::string format() const {
    std::string out;
    append_escaped(out, where.file);
    if (where.line > 0) {
      out += ':' + std::to_string(where.line);
      if (where.column > 0) out += ':' + std::to_string(where.column);
    }
    out += ": ";
    append_escaped(out, message);
    return out;
  }

 private:
  static void append_escaped(std::string& out, const std::string& text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '\n') {
        out += "\\n";
      } else if (c < 0x20 || c == 0x7f) {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
      } else {
        out += ch;
      }
    }
  }
};

class Diagnostics {
 public:
  void error(SourceLocation where, std::string message) {
    items_.push_back({std::move(where), std::move(message)});
  }
  void append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }

  // All messages, in file/line/column order, one per line.
  std::string format() const {
    std::vector<Diagnostic> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.where.file, a.where.line, a.where.column) <
             std::tie(b.where.file, b.where.line, b.where.column);
    });
    std::string out;
    for (const auto& d : sorted) {
      out += d.format();
      out += '\n';
    }
    return out;
  }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace packsim
