// Semantic checks: identifiers and sizes, signal layout (fits the message, no overlap between
// signals that can be in the same frame), duplicates and multiplexing.

#include "dbc_validate.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include "dbc_internal.hpp"
#include "packsim/can/frame.hpp"

namespace packsim::can {
namespace detail {
namespace {

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", v);
  return buf;
}

using BitSet = std::array<std::uint64_t, 8>;  // 512 payload bits

// The multiplexor values that select a multiplexed signal.
std::vector<MuxRange> selecting_ranges(const Message& m, const Signal& s) {
  for (const auto& e : m.extended_mux) {
    if (e.signal == s.name) return e.ranges;
  }
  return {MuxRange{s.mux_value, s.mux_value}};
}

bool ranges_intersect(const std::vector<MuxRange>& a, const std::vector<MuxRange>& b) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (x.low <= y.high && y.low <= x.high) return true;
    }
  }
  return false;
}

class Validator {
 public:
  Validator(const Database& db, const std::string& file, bool check_fields, Diagnostics& diag)
      : db_(db), file_(file), check_fields_(check_fields), diag_(diag) {}

  void run() {
    if (check_fields_) texts();
    std::map<std::string, const Node*> nodes;
    for (const auto& n : db_.nodes) {
      const auto [it, fresh] = nodes.emplace(n.name, &n);
      if (!fresh) {
        error(n.pos, "duplicate node name '" + n.name + "' (first at line " +
                         std::to_string(it->second->pos.line) + "); expected unique node names");
      }
    }
    std::map<std::uint32_t, const Message*> ids;
    std::map<std::string, const Message*> names;
    for (const auto& m : db_.messages) {
      message(m);
      const auto [id_it, id_fresh] = ids.emplace(m.dbc_id(), &m);
      if (!id_fresh) {
        error(m.pos, "duplicate message id " + hex(m.id) + (m.extended ? " (extended)" : "") +
                         " in '" + m.name + "' (first used by '" + id_it->second->name +
                         "' at line " + std::to_string(id_it->second->pos.line) +
                         "); expected unique message ids");
      }
      const auto [name_it, name_fresh] = names.emplace(m.name, &m);
      if (!name_fresh) {
        error(m.pos, "duplicate message name '" + m.name + "' (first at line " +
                         std::to_string(name_it->second->pos.line) +
                         "); expected unique message names");
      }
    }
  }

 private:
  void error(SourcePos p, std::string msg) {
    diag_.error(SourceLocation{file_, p.line, p.column}, std::move(msg));
  }

  // The string rule the parser checks at each string token (TextRule), for a database built in
  // code: the writer cannot write such a string so that it reads back.
  void text(const std::string& s, TextRule rule, SourcePos at, const std::string& what) {
    const std::size_t bad = find_disallowed_char(s, rule);
    if (bad == std::string::npos) return;
    error(at, what + " contains " + describe_disallowed_char(s[bad]) +
                  (rule == TextRule::kOneLine
                       ? "; expected one line of text (only comments may span lines)"
                       : "; expected text, tabs and line breaks"));
  }
  void attributes(const std::vector<Attribute>& attrs, SourcePos at, const std::string& owner) {
    for (const auto& a : attrs) {
      text(a.name, TextRule::kOneLine, at, "attribute name of " + owner);
      if (a.value.is_string) {
        text(a.value.text, TextRule::kOneLine, at, "attribute '" + a.name + "' of " + owner);
      }
    }
  }
  void descriptions(const std::vector<ValueDescription>& values, SourcePos at,
                    const std::string& owner) {
    for (const auto& v : values) {
      text(v.text, TextRule::kOneLine, at,
           "description of value " + std::to_string(v.value) + " of " + owner);
    }
  }
  void texts() {
    text(db_.version, TextRule::kOneLine, {}, "VERSION");
    text(db_.comment, TextRule::kMultiLine, {}, "the network comment");
    attributes(db_.attributes, {}, "the network");
    for (const auto& d : db_.attribute_definitions) {
      text(d.name, TextRule::kOneLine, {}, "attribute definition name");
      for (const auto& e : d.enum_values) {
        text(e, TextRule::kOneLine, {}, "ENUM value of attribute '" + d.name + "'");
      }
      if (d.default_value && d.default_value->is_string) {
        text(d.default_value->text, TextRule::kOneLine, {},
             "default of attribute '" + d.name + "'");
      }
    }
    for (const auto& t : db_.value_tables)
      descriptions(t.values, {}, "value table '" + t.name + "'");
    for (const auto& n : db_.nodes) {
      text(n.comment, TextRule::kMultiLine, n.pos, "comment of node '" + n.name + "'");
      attributes(n.attributes, n.pos, "node '" + n.name + "'");
    }
    for (const auto& m : db_.messages) {
      text(m.comment, TextRule::kMultiLine, m.pos, "comment of message '" + m.name + "'");
      attributes(m.attributes, m.pos, "message '" + m.name + "'");
      for (const auto& sg : m.signals) {
        const std::string owner = "signal '" + sg.name + "'";
        text(sg.unit, TextRule::kOneLine, sg.pos, "unit of " + owner);
        text(sg.comment, TextRule::kMultiLine, sg.pos, "comment of " + owner);
        attributes(sg.attributes, sg.pos, owner);
        descriptions(sg.value_descriptions, sg.pos, owner);
      }
    }
  }

  void message(const Message& m) {
    if (m.id > (m.extended ? kExtendedIdMask : kStandardIdMask)) {
      error(m.pos, "message '" + m.name + "' has id " + hex(m.id) +
                       (m.extended ? ", above the 29-bit maximum; expected at most 0x1FFFFFFF"
                                   : ", above the 11-bit maximum; expected at most 0x7FF (or "
                                     "bit 31 set in the DBC id for an extended frame)"));
    }
    const bool fd = m.is_fd || resolve_is_fd(db_, m);
    if (m.size > kFdMaxLen) {
      error(m.pos, "message '" + m.name + "' has size " + std::to_string(m.size) +
                       " bytes; expected 0..64");
    } else if (m.size > kClassicMaxLen && !fd) {
      error(m.pos, "message '" + m.name + "' has " + std::to_string(m.size) +
                       " bytes but is not a CAN FD frame; expected at most 8 bytes, or "
                       "VFrameFormat StandardCAN_FD/ExtendedCAN_FD");
    } else if (fd && !is_valid_len(m.size, true)) {
      error(m.pos, "message '" + m.name + "' has " + std::to_string(m.size) +
                       " bytes, which is not a CAN FD length; expected 0..8, 12, 16, 20, 24, 32, "
                       "48 or 64");
    }
    signals(m);
  }

  bool fields_ok(const Signal& s) {
    bool ok = true;
    if (s.length < 1 || s.length > 64) {
      if (check_fields_) {
        error(s.pos, "signal '" + s.name + "' has length " + std::to_string(s.length) +
                         "; expected 1..64 bits");
      }
      ok = false;
    }
    if (s.start_bit < 0 || s.start_bit > 511) {
      if (check_fields_) {
        error(s.pos, "signal '" + s.name + "' has start bit " + std::to_string(s.start_bit) +
                         "; expected 0..511");
      }
      ok = false;
    }
    if (check_fields_ && s.factor == 0.0) {
      error(s.pos, "signal '" + s.name + "' has factor 0; expected a non-zero factor");
    }
    return ok;
  }

  void signals(const Message& m) {
    std::map<std::string, const Signal*> names;
    const Signal* multiplexor = nullptr;
    const Signal* orphan = nullptr;  // first multiplexed signal, for a missing multiplexor
    std::vector<BitSet> bits(m.signals.size());
    std::vector<bool> placed(m.signals.size(), false);

    for (std::size_t k = 0; k < m.signals.size(); ++k) {
      const Signal& s = m.signals[k];
      const auto [it, fresh] = names.emplace(s.name, &s);
      if (!fresh) {
        error(s.pos, "duplicate signal name '" + s.name + "' in message '" + m.name +
                         "' (first at line " + std::to_string(it->second->pos.line) +
                         "); expected unique signal names within a message");
      }
      if (!fields_ok(s)) continue;
      if (s.value_type == ValueType::kFloat32 && s.length != 32) {
        error(s.pos, "signal '" + s.name + "' is a float (SIG_VALTYPE_ 1) of length " +
                         std::to_string(s.length) + "; expected 32 bits");
      } else if (s.value_type == ValueType::kFloat64 && s.length != 64) {
        error(s.pos, "signal '" + s.name + "' is a double (SIG_VALTYPE_ 2) of length " +
                         std::to_string(s.length) + "; expected 64 bits");
      }
      if (s.mux_role == MuxRole::kMultiplexor) {
        if (multiplexor != nullptr) {
          error(s.pos, "message '" + m.name + "' has a second multiplexor signal '" + s.name +
                           "' (first '" + multiplexor->name +
                           "'); expected at most one signal marked M");
        } else {
          multiplexor = &s;
        }
        if (s.value_type != ValueType::kInteger) {
          error(s.pos, "multiplexor '" + s.name + "' is a float; expected an integer signal");
        }
      } else if (s.mux_role == MuxRole::kMultiplexed && orphan == nullptr) {
        orphan = &s;
      }
      int last_byte = 0;
      BitSet set{};
      for (int b : signal_bit_positions(s)) {
        last_byte = std::max(last_byte, b / 8);
        if (b >= 0 && b < 512) {
          set[static_cast<std::size_t>(b / 64)] |= std::uint64_t{1} << (b % 64);
        }
      }
      if (static_cast<std::uint32_t>(last_byte) >= m.size) {
        error(s.pos, "signal '" + s.name + "' does not fit in the " + std::to_string(m.size) +
                         "-byte message '" + m.name + "' (it reaches byte " +
                         std::to_string(last_byte) + "); expected all its bits in bytes 0.." +
                         std::to_string(m.size == 0 ? 0 : m.size - 1));
        continue;
      }
      bits[k] = set;
      placed[k] = true;
    }

    if (orphan != nullptr && multiplexor == nullptr) {
      error(orphan->pos, "signal '" + orphan->name + "' is multiplexed (m" +
                             std::to_string(orphan->mux_value) + ") but message '" + m.name +
                             "' has no multiplexor signal; expected one signal marked M");
    }
    if (multiplexor != nullptr && multiplexor->length >= 1 && multiplexor->length < 64) {
      const std::uint64_t max = (std::uint64_t{1} << multiplexor->length) - 1;
      for (const auto& s : m.signals) {
        if (s.mux_role != MuxRole::kMultiplexed) continue;
        for (const auto& r : selecting_ranges(m, s)) {
          if (r.high > max) {
            error(s.pos, "signal '" + s.name + "' is selected by multiplexor value " +
                             std::to_string(r.high) + ", which the " +
                             std::to_string(multiplexor->length) + "-bit multiplexor '" +
                             multiplexor->name + "' cannot carry; expected 0.." +
                             std::to_string(max));
            break;
          }
        }
      }
    }
    for (const auto& e : m.extended_mux) {
      for (const auto& r : e.ranges) {
        if (r.low > r.high) {
          error(m.pos, "SG_MUL_VAL_ range " + std::to_string(r.low) + "-" + std::to_string(r.high) +
                           " of signal '" + e.signal + "' is empty; expected low <= high");
        }
      }
      if (check_fields_ &&
          (m.find_signal(e.signal) == nullptr || m.find_signal(e.multiplexor) == nullptr)) {
        error(m.pos, "SG_MUL_VAL_ of message '" + m.name + "' names unknown signal '" + e.signal +
                         "' or multiplexor '" + e.multiplexor +
                         "'; expected signals of that message");
      }
    }
    if (check_fields_) {
      for (const auto& g : m.signal_groups) {
        for (const auto& name : g.signals) {
          if (m.find_signal(name) == nullptr) {
            error(m.pos, "signal group '" + g.name + "' of message '" + m.name +
                             "' names unknown signal '" + name + "'; expected a signal of it");
          }
        }
      }
    }

    overlaps(m, bits, placed);
  }

  void overlaps(const Message& m, const std::vector<BitSet>& bits,
                const std::vector<bool>& placed) {
    std::vector<std::vector<MuxRange>> selects(m.signals.size());
    for (std::size_t k = 0; k < m.signals.size(); ++k) {
      if (m.signals[k].mux_role == MuxRole::kMultiplexed) {
        selects[k] = selecting_ranges(m, m.signals[k]);
      }
    }
    for (std::size_t j = 0; j < m.signals.size(); ++j) {
      if (!placed[j]) continue;
      for (std::size_t i = 0; i < j; ++i) {
        if (!placed[i]) continue;
        const bool both_muxed = !selects[i].empty() && !selects[j].empty();
        if (both_muxed && !ranges_intersect(selects[i], selects[j])) continue;
        for (std::size_t w = 0; w < 8; ++w) {
          const std::uint64_t common = bits[i][w] & bits[j][w];
          if (common == 0) continue;
          int bit = static_cast<int>(w) * 64;
          for (std::uint64_t c = common; (c & 1u) == 0; c >>= 1) ++bit;
          error(m.signals[j].pos, "signals '" + m.signals[i].name + "' and '" + m.signals[j].name +
                                      "' of message '" + m.name + "' overlap at bit " +
                                      std::to_string(bit) + " (byte " + std::to_string(bit / 8) +
                                      ", bit " + std::to_string(bit % 8) +
                                      "); expected disjoint bits for signals sent together");
          i = j;  // one report per signal is enough
          break;
        }
      }
    }
  }

  const Database& db_;
  const std::string& file_;
  bool check_fields_;
  Diagnostics& diag_;
};

}  // namespace

void validate(const Database& db, const std::string& file, bool check_fields, Diagnostics& diag) {
  Validator(db, file, check_fields, diag).run();
}

}  // namespace detail

Diagnostics validate_database(const Database& db, const std::string& file_name) {
  Diagnostics d;
  detail::validate(db, file_name, /*check_fields=*/true, d);
  return d;
}

}  // namespace packsim::can
