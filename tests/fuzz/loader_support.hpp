#pragma once
// What every loader promises, whatever the file: no crash, no undefined behaviour, and a result
// exactly when there was no diagnostic ("returns nothing if there was any").

#include <string>

#include "fuzz_support.hpp"
#include "packsim/util/diagnostic.hpp"

namespace packsim::fuzz {

inline void check_loaded(bool loaded, const Diagnostics& diags, const std::string& loader) {
  if (loaded && !diags.empty()) finding(loader + " returned a result with errors", diags.format());
  if (!loaded && diags.empty()) finding(loader + " returned nothing without an error");
}

}  // namespace packsim::fuzz
