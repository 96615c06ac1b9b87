#pragma once
// junit.xml: one <testsuite> per scenario, one <testcase> per expectation, in the JUnit XML that
// Jenkins, GitLab and GitHub Actions read (testsuites > testsuite > testcase, <failure message>,
// <error message>, <system-out>). Times are simulated seconds, so equal runs give equal files.

#include <string>
#include <string_view>
#include <vector>

#include "packsim/sim/expect.hpp"

namespace packsim::sim {

struct JunitSuite {
  std::string name;        // the scenario's name
  std::string classname;   // of every testcase: the scenario file's stem
  double time_s = 0.0;     // simulated
  std::string system_out;  // the run's key figures
  std::vector<ExpectationReport> cases;
};

// The whole file. A case still pending (the placeholder of a run that has not ended) is an error.
std::string render_junit(const JunitSuite& suite);
// Text for XML character data or (attribute) a double-quoted attribute value: markup characters
// escaped, line breaks kept as character references in attributes, characters XML 1.0 forbids
// replaced by '?'.
std::string xml_escape(std::string_view text, bool attribute);

}  // namespace packsim::sim
