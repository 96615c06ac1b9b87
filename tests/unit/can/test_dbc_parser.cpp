#include <catch2/catch.hpp>
#include <string>

#include "can_test_util.hpp"
#include "packsim/can/dbc.hpp"

using namespace packsim::can;

namespace {

ParseResult parse_all_features() {
  return parse_dbc(test::read_text(test::data_path("all_features.dbc")), "all_features.dbc");
}

const Attribute* attr(const std::vector<Attribute>& attrs, const std::string& name) {
  for (const auto& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("all_features.dbc parses without diagnostics", "[can][dbc]") {
  const auto r = parse_all_features();
  INFO(r.diagnostics.format());
  REQUIRE(r.ok());
  const Database& db = r.database;
  CHECK(db.version == "packsim-test 1.0");
  REQUIRE(db.nodes.size() == 3);
  CHECK(db.nodes[0].name == "Simulator");
  CHECK(db.nodes[1].name == "BMS");
  CHECK(db.nodes[1].comment == "The battery management system under test");
  REQUIRE(db.value_tables.size() == 2);
  CHECK(db.value_tables[0].name == "OnOff");
  CHECK(db.value_tables[0].values.size() == 2);
  CHECK(db.value_tables[0].values[0].value == 1);
  CHECK(db.value_tables[0].values[0].text == "On");
  CHECK(db.value_tables[1].values.empty());
  CHECK(db.comment == "Global comment");
  // VECTOR__INDEPENDENT_SIG_MSG and its comment are dropped, as cantools does.
  REQUIRE(db.messages.size() == 4);
  CHECK(db.find_message("VECTOR__INDEPENDENT_SIG_MSG") == nullptr);
}

TEST_CASE("messages: ids, extended flag, sender, transmitters, comments", "[can][dbc]") {
  const Database db = parse_all_features().database;
  const Message* status = db.find_message("Status");
  REQUIRE(status != nullptr);
  CHECK(status->id == 256);
  CHECK_FALSE(status->extended);
  CHECK(status->size == 8);
  CHECK(status->sender == "Simulator");
  CHECK(status->transmitters == std::vector<std::string>{"Simulator", "Logger"});
  CHECK(status->comment ==
        "Status of the simulator.\nSecond line with a \"quoted\" word and a backslash \\ here.");

  // Bit 31 of the DBC id marks an extended frame: 2566848770 = 0x80000000 | 0x18FF0102.
  const Message* ext = db.find_message("PackExtended");
  REQUIRE(ext != nullptr);
  CHECK(ext->extended);
  CHECK(ext->id == 0x18FF0102u);
  CHECK(ext->dbc_id() == 2566848770u);
  CHECK(db.find_message(0x18FF0102u, true) == ext);
  CHECK(db.find_message(0x18FF0102u, false) == nullptr);
}

TEST_CASE("cycle time and CAN FD come from attributes and their defaults", "[can][dbc]") {
  const Database db = parse_all_features().database;
  CHECK(db.find_message("Status")->cycle_time_ms == 10);         // BA_ on the message
  CHECK(db.find_message("Muxed")->cycle_time_ms == 0);           // BA_ 0 overrides default
  CHECK(db.find_message("Floats")->cycle_time_ms == 100);        // BA_DEF_DEF_ default
  CHECK(db.find_message("PackExtended")->cycle_time_ms == 100);  // default
  CHECK(db.find_message("Floats")->is_fd);                       // VFrameFormat 14 = StandardCAN_FD
  CHECK(db.find_message("Floats")->size == 16);
  CHECK_FALSE(db.find_message("PackExtended")->is_fd);  // 1 = ExtendedCAN
  CHECK_FALSE(db.find_message("Status")->is_fd);        // default "StandardCAN"
}

TEST_CASE("signals: layout fields, receivers, mux roles, value types", "[can][dbc]") {
  const Database db = parse_all_features().database;
  const Message& status = *db.find_message("Status");
  const Signal* t = status.find_signal("Temperature");
  REQUIRE(t != nullptr);
  CHECK(t->start_bit == 8);
  CHECK(t->length == 12);
  CHECK(t->byte_order == ByteOrder::kLittleEndian);
  CHECK(t->is_signed);
  CHECK(t->factor == 0.125);
  CHECK(t->offset == -40.0);
  CHECK(t->minimum == -296.0);
  CHECK(t->maximum == 215.875);
  CHECK(t->unit == "degC");
  CHECK(t->receivers == std::vector<std::string>{"BMS"});
  CHECK(t->comment == "Cell temperature");
  CHECK(status.find_signal("Mode")->receivers == std::vector<std::string>{"BMS", "Logger"});
  CHECK(status.find_signal("Current")->receivers == std::vector<std::string>{"BMS", "Logger"});
  CHECK(status.find_signal("Flag")->receivers.empty());  // Vector__XXX
  CHECK(status.find_signal("Current")->byte_order == ByteOrder::kBigEndian);
  CHECK(status.find_signal("Current")->start_bit == 39);

  const Message& mux = *db.find_message("Muxed");
  CHECK(mux.find_signal("Sel")->mux_role == MuxRole::kMultiplexor);  // after its signals
  CHECK(mux.find_signal("Cell_B")->mux_role == MuxRole::kMultiplexed);
  CHECK(mux.find_signal("Cell_B")->mux_value == 1);
  CHECK(mux.find_signal("Common")->mux_role == MuxRole::kPlain);
  REQUIRE(mux.extended_mux.size() == 1);
  CHECK(mux.extended_mux[0].signal == "Cell_C");
  CHECK(mux.extended_mux[0].multiplexor == "Sel");
  REQUIRE(mux.extended_mux[0].ranges.size() == 2);
  CHECK(mux.extended_mux[0].ranges[0].low == 2);
  CHECK(mux.extended_mux[0].ranges[0].high == 3);
  CHECK(mux.extended_mux[0].ranges[1].low == 5);
  CHECK(mux.extended_mux[0].ranges[1].high == 5);

  const Message& floats = *db.find_message("Floats");
  CHECK(floats.find_signal("F32")->value_type == ValueType::kFloat32);
  CHECK(floats.find_signal("F64")->value_type == ValueType::kFloat64);
  CHECK(floats.find_signal("F64")->minimum == -1e300);
  CHECK(floats.find_signal("Small")->factor == 1e-5);
  CHECK(floats.find_signal("Small")->value_type == ValueType::kInteger);
}

TEST_CASE("value descriptions, groups, attribute definitions and values", "[can][dbc]") {
  const Database db = parse_all_features().database;
  const Signal& mode = *db.find_message("Status")->find_signal("Mode");
  REQUIRE(mode.value_descriptions.size() == 4);
  CHECK(mode.value_descriptions[3].value == 7);
  CHECK(mode.value_descriptions[3].text == "Error");
  const auto& groups = db.find_message("Status")->signal_groups;
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].name == "StatusGroup");
  CHECK(groups[0].repetitions == 1);
  CHECK(groups[0].signals == std::vector<std::string>{"Mode", "Flag"});

  REQUIRE(db.attribute_definitions.size() == 7);
  const AttributeDefinition* hex = db.find_attribute_definition("NodeAddress");
  REQUIRE(hex != nullptr);
  CHECK(hex->type == AttributeType::kHex);
  CHECK(hex->object == AttributeObject::kNode);
  CHECK(hex->maximum == 255);
  const AttributeDefinition* flt = db.find_attribute_definition("GenSigStartValue");
  CHECK(flt->type == AttributeType::kFloat);
  CHECK(flt->minimum == -3.4e38);
  const AttributeDefinition* en = db.find_attribute_definition("GenMsgSendType");
  CHECK(en->type == AttributeType::kEnum);
  CHECK(en->enum_values == std::vector<std::string>{"Cyclic", "IfActive", "NoMsgSendType"});
  REQUIRE(en->default_value.has_value());
  CHECK(en->default_value->is_string);
  CHECK(en->default_value->text == "NoMsgSendType");
  CHECK(db.find_attribute_definition("BusType")->object == AttributeObject::kNetwork);
  CHECK(db.find_attribute_definition("EvAttr")->object == AttributeObject::kEnvVar);

  REQUIRE(attr(db.attributes, "BusType") != nullptr);
  CHECK(attr(db.attributes, "BusType")->value.text == "CAN FD");
  CHECK(attr(db.nodes[1].attributes, "NodeAddress")->value.number == 16);
  CHECK(attr(db.find_message("Status")->attributes, "GenMsgSendType")->value.number == 0);
  const Signal& temp = *db.find_message("Status")->find_signal("Temperature");
  CHECK(attr(temp.attributes, "GenSigStartValue")->value.number == 320);
}

TEST_CASE("CRLF line endings and a UTF-8 byte order mark are accepted", "[can][dbc]") {
  std::string text = test::read_text(test::data_path("all_features.dbc"));
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : text) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  const auto r = parse_dbc(crlf, "crlf.dbc");
  INFO(r.diagnostics.format());
  REQUIRE(r.ok());
  const auto plain = parse_all_features();
  REQUIRE(r.database.messages.size() == plain.database.messages.size());
  for (std::size_t k = 0; k < r.database.messages.size(); ++k) {
    CHECK(r.database.messages[k].signals == plain.database.messages[k].signals);
  }
}

TEST_CASE("a later BA_ for the same object overrides the earlier one", "[can][dbc]") {
  const auto r = parse_dbc(
      "BO_ 1 M: 8 Vector__XXX\n"
      " SG_ S : 0|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      "BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 1000;\n"
      "BA_ \"GenMsgCycleTime\" BO_ 1 20;\n"
      "BA_ \"GenMsgCycleTime\" BO_ 1 50;\n",
      "override.dbc");
  REQUIRE(r.ok());
  CHECK(r.database.messages[0].attributes.size() == 1);
  CHECK(r.database.messages[0].cycle_time_ms == 50);
  CHECK(r.database.messages[0].cycle_time_ms != 20);
}

TEST_CASE("the parser reports every error of a file, each with line and column", "[can][dbc]") {
  // Three independent mistakes: bad byte order (line 2), factor 0 (line 3), unknown message in
  // VAL_ (line 5). The valid signal on line 4 is still read.
  const auto r = parse_dbc(
      "BO_ 100 M: 8 Vector__XXX\n"
      " SG_ A : 0|8@2+ (1,0) [0|0] \"\" Vector__XXX\n"
      " SG_ B : 8|8@1+ (0,0) [0|0] \"\" Vector__XXX\n"
      " SG_ C : 16|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      "VAL_ 101 C 0 \"zero\" ;\n",
      "three.dbc");
  const std::string out = r.diagnostics.format();
  INFO(out);
  CHECK(r.diagnostics.size() == 3);
  CHECK(out.find("three.dbc:2:14: expected byte order 0 (Motorola) or 1 (Intel)") !=
        std::string::npos);
  CHECK(out.find("three.dbc:3:18: signal 'B' has factor 0") != std::string::npos);
  CHECK(out.find("three.dbc:5:6: VAL_ refers to unknown message id 101") != std::string::npos);
  REQUIRE(r.database.messages.size() == 1);
  CHECK(r.database.messages[0].find_signal("C") != nullptr);
  CHECK(r.database.messages[0].find_signal("A") == nullptr);
}

TEST_CASE("load_dbc_file reports a missing file", "[can][dbc]") {
  const auto r = load_dbc_file(test::data_path("does_not_exist.dbc"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.diagnostics.format().find("does_not_exist.dbc: cannot open file") != std::string::npos);
}

TEST_CASE("validate_database checks a database built in code", "[can][dbc]") {
  Database db;
  db.messages.push_back(test::make_message(
      2, {test::make_signal("A", 0, 12, ByteOrder::kLittleEndian),
          test::make_signal("B", 8, 8, ByteOrder::kLittleEndian),     // overlaps A at bit 8
          test::make_signal("C", 0, 0, ByteOrder::kLittleEndian)}));  // length 0
  db.messages[0].signals[2].factor = 0.0;
  const packsim::Diagnostics d = validate_database(db, "code");
  const std::string out = d.format();
  INFO(out);
  CHECK(out.find("signals 'A' and 'B' of message 'Msg' overlap at bit 8") != std::string::npos);
  CHECK(out.find("signal 'C' has length 0") != std::string::npos);
  CHECK(out.find("signal 'C' has factor 0") != std::string::npos);
  CHECK(d.size() == 3);
}

TEST_CASE("signal_bit_positions follows the DBC numbering", "[can][dbc]") {
  // Motorola, MSB at bit 1, 4 bits: bits 1, 0, then bits 15, 14 of the next byte.
  // Returned LSB first: 14, 15, 0, 1.
  const auto bits = signal_bit_positions(test::make_signal("s", 1, 4, ByteOrder::kBigEndian));
  CHECK(bits == std::vector<int>{14, 15, 0, 1});
  const auto le = signal_bit_positions(test::make_signal("s", 6, 3, ByteOrder::kLittleEndian));
  CHECK(le == std::vector<int>{6, 7, 8});
}
