// "did you mean ...?": the edit distance and the choice of the closest name.
#include <catch2/catch.hpp>

#include "packsim/util/suggest.hpp"

using packsim::closest_name;
using packsim::did_you_mean;
using packsim::edit_distance;

TEST_CASE("Edit distance counts insertions, deletions, substitutions and swaps", "[suggest]") {
  CHECK(edit_distance("run", "run") == 0);
  CHECK(edit_distance("runn", "run") == 1);  // an extra letter
  CHECK(edit_distance("rn", "run") == 1);    // a missing one
  CHECK(edit_distance("rum", "run") == 1);   // a wrong one
  CHECK(edit_distance("rnu", "run") == 1);   // two neighbours swapped: one edit, not two
  CHECK(edit_distance("durration", "duration") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);  // the textbook case
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("DegC", "degc") == 0);  // case does not count
  CHECK(edit_distance("ca", "abc") == 3);     // OSA: a swapped pair is not edited again
}

TEST_CASE("Only a close name is suggested, the closest, the first of equals", "[suggest]") {
  const std::vector<std::string> commands = {"run", "check",    "info", "bench",
                                             "dbc", "validate", "link"};
  CHECK(closest_name("runn", commands) == "run");
  CHECK(closest_name("chek", commands) == "check");
  CHECK(closest_name("valdiate", commands) == "validate");
  CHECK(closest_name("frobnicate", commands).empty());
  CHECK(closest_name("ru", commands) == "run");  // one edit of three letters
  // Short words need an exact-length near miss: 'x' is not a typo of 'v', nor "ab" of "dbc".
  CHECK(closest_name("x", {"v", "t"}).empty());
  CHECK(closest_name("ab", commands).empty());
  // Two edits at most, however long the word.
  CHECK(closest_name("temperatur", {"temperature"}) == "temperature");
  CHECK(closest_name("tmperatur", {"temperature"}) == "temperature");
  CHECK(closest_name("tmpratur", {"temperature"}).empty());
  // The nearest wins; between equals, the first listed.
  CHECK(closest_name("duraton", {"durations", "duration"}) == "duration");  // 2 edits vs 1
  CHECK(closest_name("cel", {"cell", "cels"}) == "cell");
  CHECK(closest_name("cel", {"cels", "cell"}) == "cels");
  CHECK(closest_name("run", {"run"}).empty());  // a name is no typo of itself
}

TEST_CASE("did_you_mean formats the suggestion or says nothing", "[suggest]") {
  CHECK(did_you_mean("durration", {"name", "duration", "tick"}) == " (did you mean 'duration'?)");
  CHECK(did_you_mean("zzz", {"name", "duration", "tick"}).empty());
  CHECK(did_you_mean("x", {}).empty());
}
