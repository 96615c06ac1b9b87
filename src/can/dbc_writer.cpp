// DBC writer. Statements come in the order Vector tools write them; within each kind the order
// of the database is kept, so parse -> write -> parse gives an equal database and the output
// depends on nothing but the database.

#include <charconv>
#include <cmath>
#include <cstdio>

#include "dbc_internal.hpp"
#include "packsim/can/dbc.hpp"
#include "packsim/can/frame.hpp"

namespace packsim::can {
namespace detail {

std::string format_number(double v) {
  // Integral values print as integers (INT/HEX attributes need that); everything else in the
  // shortest form that reads back to the same double.
  if (std::isfinite(v) && std::fabs(v) < 9.0e15 && v == std::trunc(v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string quote(std::string_view s, TextRule rule) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(is_allowed_char(c, rule) ? c : ' ');
  }
  out.push_back('"');
  return out;
}

}  // namespace detail

namespace {

using detail::format_number;
using detail::quote;
constexpr detail::TextRule kMultiLine = detail::TextRule::kMultiLine;

constexpr const char* kNewSymbols[] = {"NS_DESC_",     "CM_",
                                       "BA_DEF_",      "BA_",
                                       "VAL_",         "CAT_DEF_",
                                       "CAT_",         "FILTER",
                                       "BA_DEF_DEF_",  "EV_DATA_",
                                       "ENVVAR_DATA_", "SGTYPE_",
                                       "SGTYPE_VAL_",  "BA_DEF_SGTYPE_",
                                       "BA_SGTYPE_",   "SIG_TYPE_REF_",
                                       "VAL_TABLE_",   "SIG_GROUP_",
                                       "SIG_VALTYPE_", "SIGTYPE_VALTYPE_",
                                       "BO_TX_BU_",    "BA_DEF_REL_",
                                       "BA_REL_",      "BA_DEF_DEF_REL_",
                                       "BU_SG_REL_",   "BU_EV_REL_",
                                       "BU_BO_REL_",   "SG_MUL_VAL_"};

// cantools' definition of VFrameFormat (index = raw attribute value).
const std::vector<std::string> kFrameFormats = {
    "StandardCAN", "ExtendedCAN", "reserved",       "J1939PG",       "reserved", "reserved",
    "reserved",    "reserved",    "reserved",       "reserved",      "reserved", "reserved",
    "reserved",    "reserved",    "StandardCAN_FD", "ExtendedCAN_FD"};

std::string value_text(const AttributeValue& v) {
  return v.is_string ? quote(v.text) : format_number(v.number);
}

std::string object_prefix(AttributeObject o) {
  switch (o) {
    case AttributeObject::kNetwork:
      return "";
    case AttributeObject::kNode:
      return "BU_ ";
    case AttributeObject::kMessage:
      return "BO_ ";
    case AttributeObject::kSignal:
      return "SG_ ";
    case AttributeObject::kEnvVar:
      return "EV_ ";
  }
  return "";
}

std::string definition_text(const AttributeDefinition& d) {
  std::string out = "BA_DEF_ " + object_prefix(d.object) + quote(d.name) + " ";
  switch (d.type) {
    case AttributeType::kInt:
      out += "INT " + format_number(d.minimum) + " " + format_number(d.maximum);
      break;
    case AttributeType::kHex:
      out += "HEX " + format_number(d.minimum) + " " + format_number(d.maximum);
      break;
    case AttributeType::kFloat:
      out += "FLOAT " + format_number(d.minimum) + " " + format_number(d.maximum);
      break;
    case AttributeType::kString:
      out += "STRING";
      break;
    case AttributeType::kEnum:
      out += "ENUM ";
      for (std::size_t k = 0; k < d.enum_values.size(); ++k) {
        if (k > 0) out += ",";
        out += quote(d.enum_values[k]);
      }
      break;
  }
  return out + ";\n";
}

std::string value_list(const std::vector<ValueDescription>& values) {
  std::string out;
  for (const auto& v : values) out += " " + std::to_string(v.value) + " " + quote(v.text);
  return out;
}

// Attributes of one message after reconciling the derived fields with them.
std::vector<Attribute> message_attributes(const Database& db, const Message& m,
                                          bool& need_cycle_def, bool& need_format_def) {
  std::vector<Attribute> attrs = m.attributes;
  auto put = [&attrs](const std::string& name, AttributeValue v) {
    for (auto& a : attrs) {
      if (a.name == name) {
        a.value = std::move(v);
        return;
      }
    }
    attrs.push_back(Attribute{name, std::move(v)});
  };
  if (detail::resolve_cycle_time(db, m) != m.cycle_time_ms) {
    need_cycle_def = need_cycle_def || db.find_attribute_definition("GenMsgCycleTime") == nullptr;
    put("GenMsgCycleTime", AttributeValue::of_number(m.cycle_time_ms));
  }
  if (detail::resolve_is_fd(db, m) != m.is_fd) {
    const AttributeDefinition* d = db.find_attribute_definition("VFrameFormat");
    need_format_def = need_format_def || d == nullptr;
    const std::string want = m.is_fd ? (m.extended ? "ExtendedCAN_FD" : "StandardCAN_FD")
                                     : (m.extended ? "ExtendedCAN" : "StandardCAN");
    const std::vector<std::string>& choices = d != nullptr ? d->enum_values : kFrameFormats;
    AttributeValue v = AttributeValue::of_string(want);
    if (d == nullptr || d->type == AttributeType::kEnum) {
      for (std::size_t k = 0; k < choices.size(); ++k) {
        if (choices[k] == want) {
          v = AttributeValue::of_number(static_cast<double>(k));
          break;
        }
      }
    }
    put("VFrameFormat", v);
  }
  return attrs;
}

}  // namespace

std::string to_dbc_text(const Database& db) {
  std::string out;
  out += "VERSION " + quote(db.version) + "\n\n\n";
  out += "NS_ :\n";
  for (const char* s : kNewSymbols) out += std::string("\t") + s + "\n";
  out += "\nBS_:\n\nBU_:";
  for (const auto& n : db.nodes) out += " " + n.name;
  out += "\n";
  for (const auto& t : db.value_tables) {
    out += "VAL_TABLE_ " + t.name + value_list(t.values) + " ;\n";
  }
  out += "\n";

  for (const auto& m : db.messages) {
    out += "\nBO_ " + std::to_string(m.dbc_id()) + " " + m.name + ": " + std::to_string(m.size) +
           " " + (m.sender.empty() ? std::string("Vector__XXX") : m.sender) + "\n";
    for (const auto& s : m.signals) {
      out += " SG_ " + s.name;
      if (s.mux_role == MuxRole::kMultiplexor) out += " M";
      if (s.mux_role == MuxRole::kMultiplexed) out += " m" + std::to_string(s.mux_value);
      out += " : " + std::to_string(s.start_bit) + "|" + std::to_string(s.length) + "@" +
             (s.byte_order == ByteOrder::kBigEndian ? "0" : "1") + (s.is_signed ? "-" : "+") +
             " (" + format_number(s.factor) + "," + format_number(s.offset) + ") [" +
             format_number(s.minimum) + "|" + format_number(s.maximum) + "] " + quote(s.unit) + " ";
      if (s.receivers.empty()) {
        out += "Vector__XXX";
      } else {
        for (std::size_t k = 0; k < s.receivers.size(); ++k) {
          out += (k > 0 ? "," : "") + s.receivers[k];
        }
      }
      out += "\n";
    }
  }
  out += "\n";

  for (const auto& m : db.messages) {
    if (m.transmitters.empty()) continue;
    out += "BO_TX_BU_ " + std::to_string(m.dbc_id()) + " :";
    for (std::size_t k = 0; k < m.transmitters.size(); ++k) {
      out += (k > 0 ? "," : " ") + m.transmitters[k];
    }
    out += ";\n";
  }
  out += "\n";

  if (!db.comment.empty()) out += "CM_ " + quote(db.comment, kMultiLine) + ";\n";
  for (const auto& n : db.nodes) {
    if (!n.comment.empty()) out += "CM_ BU_ " + n.name + " " + quote(n.comment, kMultiLine) + ";\n";
  }
  for (const auto& m : db.messages) {
    const std::string id = std::to_string(m.dbc_id());
    if (!m.comment.empty()) out += "CM_ BO_ " + id + " " + quote(m.comment, kMultiLine) + ";\n";
    for (const auto& s : m.signals) {
      if (!s.comment.empty())
        out += "CM_ SG_ " + id + " " + s.name + " " + quote(s.comment, kMultiLine) + ";\n";
    }
  }

  bool need_cycle_def = false;
  bool need_format_def = false;
  std::vector<std::vector<Attribute>> msg_attrs;
  msg_attrs.reserve(db.messages.size());
  for (const auto& m : db.messages) {
    msg_attrs.push_back(message_attributes(db, m, need_cycle_def, need_format_def));
  }
  std::vector<AttributeDefinition> defs = db.attribute_definitions;
  // Every period written here must fit the file's own GenMsgCycleTime definition, or the export
  // would not read back: widen a range too narrow for the values the messages carry.
  for (auto& d : defs) {
    if (d.name != "GenMsgCycleTime") continue;
    for (const auto& attrs : msg_attrs) {
      for (const auto& a : attrs) {
        if (a.name != d.name || a.value.is_string || detail::attribute_in_range(d, a.value.number))
          continue;
        d.minimum = std::min(d.minimum, a.value.number);
        d.maximum = std::max(d.maximum, a.value.number);
      }
    }
  }
  if (need_cycle_def) {
    AttributeDefinition d;
    d.name = "GenMsgCycleTime";
    d.object = AttributeObject::kMessage;
    d.type = AttributeType::kInt;
    d.minimum = 0;
    d.maximum = 65535;
    d.default_value = AttributeValue::of_number(0);
    defs.push_back(std::move(d));
  }
  if (need_format_def) {
    AttributeDefinition d;
    d.name = "VFrameFormat";
    d.object = AttributeObject::kMessage;
    d.type = AttributeType::kEnum;
    d.enum_values = kFrameFormats;
    d.default_value = AttributeValue::of_string("StandardCAN");
    defs.push_back(std::move(d));
  }
  for (const auto& d : defs) out += definition_text(d);
  for (const auto& d : defs) {
    if (d.default_value)
      out += "BA_DEF_DEF_ " + quote(d.name) + " " + value_text(*d.default_value) + ";\n";
  }
  for (const auto& a : db.attributes)
    out += "BA_ " + quote(a.name) + " " + value_text(a.value) + ";\n";
  for (const auto& n : db.nodes) {
    for (const auto& a : n.attributes) {
      out += "BA_ " + quote(a.name) + " BU_ " + n.name + " " + value_text(a.value) + ";\n";
    }
  }
  for (std::size_t k = 0; k < db.messages.size(); ++k) {
    const Message& m = db.messages[k];
    const std::string id = std::to_string(m.dbc_id());
    for (const auto& a : msg_attrs[k]) {
      out += "BA_ " + quote(a.name) + " BO_ " + id + " " + value_text(a.value) + ";\n";
    }
    for (const auto& s : m.signals) {
      for (const auto& a : s.attributes) {
        out += "BA_ " + quote(a.name) + " SG_ " + id + " " + s.name + " " + value_text(a.value) +
               ";\n";
      }
    }
  }

  for (const auto& m : db.messages) {
    for (const auto& s : m.signals) {
      if (s.value_descriptions.empty()) continue;
      out += "VAL_ " + std::to_string(m.dbc_id()) + " " + s.name +
             value_list(s.value_descriptions) + " ;\n";
    }
  }
  for (const auto& m : db.messages) {
    for (const auto& g : m.signal_groups) {
      out += "SIG_GROUP_ " + std::to_string(m.dbc_id()) + " " + g.name + " " +
             std::to_string(g.repetitions) + " :";
      for (const auto& s : g.signals) out += " " + s;
      out += ";\n";
    }
  }
  for (const auto& m : db.messages) {
    for (const auto& s : m.signals) {
      if (s.value_type == ValueType::kInteger) continue;
      out += "SIG_VALTYPE_ " + std::to_string(m.dbc_id()) + " " + s.name + " : " +
             (s.value_type == ValueType::kFloat32 ? "1" : "2") + ";\n";
    }
  }
  for (const auto& m : db.messages) {
    for (const auto& e : m.extended_mux) {
      out += "SG_MUL_VAL_ " + std::to_string(m.dbc_id()) + " " + e.signal + " " + e.multiplexor;
      for (std::size_t k = 0; k < e.ranges.size(); ++k) {
        out += (k > 0 ? ", " : " ") + std::to_string(e.ranges[k].low) + "-" +
               std::to_string(e.ranges[k].high);
      }
      out += ";\n";
    }
  }
  return out;
}

}  // namespace packsim::can
