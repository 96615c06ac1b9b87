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

TEST_CASE("attribute values must lie in their BA_DEF_ range, where 0 0 means no range",
          "[can][dbc]") {
  const std::string head =
      "BU_: N\n"
      "BO_ 100 M: 8 N\n"
      " SG_ S : 0|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      "BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\n"
      "BA_DEF_ BO_ \"Unbounded\" INT 0 0;\n"
      "BA_DEF_ BU_ \"NodeAddress\" HEX 16 31;\n"
      "BA_DEF_ SG_ \"Start\" FLOAT -1.5 2.5;\n"
      "BA_DEF_ SG_ \"AnyFloat\" FLOAT 0 0;\n";
  SECTION("the ends of a range are inside it; 0 0 takes any value of the type") {
    const auto r = parse_dbc(head +
                                 "BA_ \"GenMsgCycleTime\" BO_ 100 65535;\n"
                                 "BA_ \"Unbounded\" BO_ 100 -70000;\n"
                                 "BA_ \"NodeAddress\" BU_ N 16;\n"
                                 "BA_ \"Start\" SG_ 100 S 2.5;\n"
                                 "BA_ \"AnyFloat\" SG_ 100 S -1e30;\n",
                             "in_range.dbc");
    INFO(r.diagnostics.format());
    REQUIRE(r.ok());
    CHECK(r.database.messages[0].cycle_time_ms == 65535);
  }
  SECTION("values outside the range are reported at the value") {
    const auto r = parse_dbc(head +
                                 "BA_ \"GenMsgCycleTime\" BO_ 100 70000;\n"  // line 9
                                 "BA_ \"GenMsgCycleTime\" BO_ 100 -1;\n"
                                 "BA_ \"NodeAddress\" BU_ N 32;\n"
                                 "BA_ \"Start\" SG_ 100 S -1.75;\n"
                                 "BA_DEF_DEF_ \"GenMsgCycleTime\" 65536;\n",
                             "out.dbc");
    const std::string out = r.diagnostics.format();
    INFO(out);
    CHECK(r.diagnostics.size() == 5);
    CHECK(out.find("out.dbc:9:31: value 70000 does not fit attribute 'GenMsgCycleTime'; expected "
                   "an integer in 0..65535 (its BA_DEF_ range)") != std::string::npos);
    CHECK(out.find("out.dbc:10:31: value -1 does not fit attribute 'GenMsgCycleTime'") !=
          std::string::npos);
    CHECK(out.find("out.dbc:11:25: value 32 does not fit attribute 'NodeAddress'; expected an "
                   "integer in 16..31") != std::string::npos);
    CHECK(out.find("out.dbc:12:23: value -1.75 does not fit attribute 'Start'; expected a number "
                   "in -1.5..2.5") != std::string::npos);
    CHECK(out.find("out.dbc:13:31: value 65536 does not fit attribute 'GenMsgCycleTime'") !=
          std::string::npos);
    // A rejected value is not stored.
    CHECK(r.database.messages[0].attributes.empty());
  }
  SECTION("type and ENUM checks come first") {
    const auto r = parse_dbc(head +
                                 "BA_DEF_ BO_ \"Kind\" ENUM \"a\",\"b\";\n"
                                 "BA_ \"GenMsgCycleTime\" BO_ 100 \"fast\";\n"  // line 10
                                 "BA_ \"Kind\" BO_ 100 \"c\";\n"
                                 "BA_ \"Kind\" BO_ 100 2;\n"
                                 "BA_ \"Kind\" BO_ 100 \"b\";\n",
                             "types.dbc");
    const std::string out = r.diagnostics.format();
    INFO(out);
    CHECK(r.diagnostics.size() == 3);
    CHECK(out.find("types.dbc:10:31: value \"fast\" does not fit attribute 'GenMsgCycleTime'; "
                   "expected an integer\n") != std::string::npos);
    CHECK(out.find("types.dbc:11:20: value \"c\" does not fit attribute 'Kind'; expected one of "
                   "its ENUM values \"a\", \"b\"") != std::string::npos);
    CHECK(out.find("types.dbc:12:20: value 2 does not fit attribute 'Kind'; expected an ENUM "
                   "index 0..2 (exclusive)") != std::string::npos);
  }
}

TEST_CASE("SG_MUL_VAL_ range errors point at the SG_MUL_VAL_ statement", "[can][dbc]") {
  const std::string head =
      "BO_ 100 M: 8 Vector__XXX\n"
      " SG_ Sel M : 0|3@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      " SG_ A m1 : 8|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      " SG_ B m2 : 8|8@1+ (1,0) [0|0] \"\" Vector__XXX\n"
      "\n";
  SECTION("an empty range, in either spelling") {
    const auto r = parse_dbc(head +
                                 "SG_MUL_VAL_ 100 A Sel 4-2;\n"  // line 6
                                 "SG_MUL_VAL_ 100 B Sel 0-0, 6 - 5;\n",
                             "empty.dbc");
    const std::string out = r.diagnostics.format();
    INFO(out);
    CHECK(r.diagnostics.size() == 2);
    CHECK(out.find("empty.dbc:6:23: SG_MUL_VAL_ range 4-2 of signal 'A' is empty; expected low "
                   "<= high") != std::string::npos);
    CHECK(out.find("empty.dbc:7:28: SG_MUL_VAL_ range 6-5 of signal 'B' is empty") !=
          std::string::npos);
    CHECK(out.find("empty.dbc:1:") == std::string::npos);  // never at the BO_ line
    CHECK(r.database.messages[0].extended_mux.empty());
  }
  SECTION("a range the multiplexor cannot carry") {
    const auto r = parse_dbc(head + "SG_MUL_VAL_ 100 A Sel 1-1, 3-8;\n", "wide.dbc");
    const std::string out = r.diagnostics.format();
    INFO(out);
    CHECK(r.diagnostics.size() == 1);
    CHECK(out.find("wide.dbc:6:28: SG_MUL_VAL_ range 3-8 of signal 'A' reaches 8, which the "
                   "3-bit multiplexor 'Sel' cannot carry; expected 0..7") != std::string::npos);
  }
  SECTION("ranges that fit are kept") {
    const auto r = parse_dbc(head + "SG_MUL_VAL_ 100 A Sel 1-1, 3-7;\n", "fit.dbc");
    INFO(r.diagnostics.format());
    REQUIRE(r.ok());
    REQUIRE(r.database.messages[0].extended_mux.size() == 1);
    CHECK(r.database.messages[0].extended_mux[0].ranges.size() == 2);
  }
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
  CHECK(r.diagnostics.format().find("does_not_exist.dbc: no such file (a DBC file)") !=
        std::string::npos);
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
