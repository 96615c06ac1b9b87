// junit.xml (junit.hpp).
#include "packsim/sim/junit.hpp"

#include <cstdio>

namespace packsim::sim {

std::string xml_escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + 16);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        // XML 1.0 allows no other control characters, not even as references.
        out += c < 0x20 || c == 0x7F ? '?' : ch;
    }
  }
  return out;
}

namespace {
std::string seconds_attr(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", s);
  return text;
}
}  // namespace

std::string render_junit(const JunitSuite& suite) {
  int failures = 0, errors = 0;
  for (const auto& c : suite.cases) {
    if (c.verdict == Verdict::kFail) ++failures;
    if (c.verdict == Verdict::kError || c.verdict == Verdict::kPending) ++errors;
  }
  const std::string counts = " tests=\"" + std::to_string(suite.cases.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                             "\" skipped=\"0\" time=\"" + seconds_attr(suite.time_s) + "\"";
  const std::string name = xml_escape(suite.name, true);
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites name=\"packsim\"" + counts + ">\n";
  x += "  <testsuite name=\"" + name + "\"" + counts + ">\n";
  for (const auto& c : suite.cases) {
    x += "    <testcase classname=\"" + xml_escape(suite.classname, true) + "\" name=\"" +
         xml_escape(c.name, true) + "\" time=\"" +
         seconds_attr(c.time_ns >= 0 ? static_cast<double>(c.time_ns) / 1e9 : 0.0) + "\">\n";
    const char* form = expect_form_name(c.form);
    if (c.verdict == Verdict::kFail || c.verdict == Verdict::kError) {
      const char* element = c.verdict == Verdict::kFail ? "failure" : "error";
      x += std::string("      <") + element + " message=\"" + xml_escape(c.message, true) +
           "\" type=\"" + form + "\">" + xml_escape(c.message, false) + "</" + element + ">\n";
    } else if (c.verdict == Verdict::kPending) {
      const std::string m =
          "not decided: the run has not ended; if packsim is no longer running, it could not "
          "write this file (killed, or the disk was full)";
      x += "      <error message=\"" + xml_escape(m, true) + "\" type=\"pending\">" +
           xml_escape(m, false) + "</error>\n";
    }
    x += "      <system-out>" +
         xml_escape(std::string("form: ") + form + "\nverdict: " + verdict_name(c.verdict) +
                        (c.details.empty() ? "" : "\n" + c.details),
                    false) +
         "</system-out>\n";
    x += "    </testcase>\n";
  }
  x += "    <system-out>" + xml_escape(suite.system_out, false) + "</system-out>\n";
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace packsim::sim
