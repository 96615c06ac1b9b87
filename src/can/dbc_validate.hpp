#pragma once
// Semantic validation shared by parse_dbc and validate_database.

#include <string>

#include "packsim/can/dbc.hpp"

namespace packsim::can::detail {

// `check_fields`: also check per-signal fields (length, factor, start bit, references of signal
// groups) that the parser already checks at their tokens.
void validate(const Database& db, const std::string& file, bool check_fields, Diagnostics& diag);

}  // namespace packsim::can::detail
