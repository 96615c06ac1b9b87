// Every file in tests/data/dbc/bad/ must be rejected with exactly the diagnostics named by its
// leading "// expect: line:col: message" lines (as many lines as errors).

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "can_test_util.hpp"
#include "packsim/can/dbc.hpp"

using namespace packsim::can;

namespace {

std::vector<std::string> bad_files() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(test::data_path("bad"))) {
    if (e.path().extension() == ".dbc") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> expectations(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::string tag = "// expect: ";
  while (std::getline(in, line)) {
    if (line.rfind(tag, 0) != 0) break;
    out.push_back(line.substr(tag.size()));
  }
  return out;
}

}  // namespace

TEST_CASE("broken DBC files are rejected with the expected located messages", "[can][dbc]") {
  const auto files = bad_files();
  REQUIRE(files.size() >= 25);
  for (const auto& name : files) {
    const std::string text = test::read_text(test::data_path("bad/" + name));
    const auto expected = expectations(text);
    const auto r = parse_dbc(text, name);
    const std::string out = r.diagnostics.format();
    INFO(name << " produced:\n" << out);
    REQUIRE_FALSE(expected.empty());
    CHECK(r.diagnostics.size() == expected.size());
    for (const auto& e : expected) {
      INFO("expected: " << name << ":" << e);
      CHECK(out.find(name + ":" + e) != std::string::npos);
    }
  }
}
