#pragma once
// "did you mean 'run'?": the closest of a fixed list of names to a word that matched none, for
// messages about unknown keys, values and subcommands. Header-only, shared by the loaders and the
// command line.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace packsim {

// Optimal-string-alignment distance (Levenshtein plus the transposition of two neighbours), so
// "durration" is one edit from "duration" and "rnu" one from "run". Case-insensitive: a key
// written in the wrong case is still a typo of that key.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const std::size_t n = a.size(), m = b.size();
  // Three rows: two back for the transposition, one back for the rest.
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const bool same = lower(a[i - 1]) == lower(b[j - 1]);
      std::size_t d = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d = std::min(d, prev2[j - 2] + 1);
      }
      cur[j] = d;
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

// The candidate closest to `word`, or "" when none is close enough to be what was meant: at most
// two edits, and fewer than half the word's length (so "x" does not suggest "v" and "a" "t").
// Ties go to the first candidate, so the suggestion is the same whatever else is in the list.
inline std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 0;
  for (const auto& c : candidates) {
    if (c == word) continue;
    const std::size_t d = edit_distance(word, c);
    const std::size_t limit = std::min<std::size_t>(2, (std::max(word.size(), c.size()) - 1) / 2);
    if (d > limit) continue;
    if (best.empty() || d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

// " (did you mean 'duration'?)" or "", to follow the word in a message: "unknown key
// 'durration' (did you mean 'duration'?); expected one of: ...".
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string best = closest_name(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace packsim
