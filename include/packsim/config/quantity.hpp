#pragma once
// Physical quantities written as strings with units ("2.9 Ah", "1 ms", "25 degC"), converted to SI.
// A key that takes a dimension rejects any other, so "tick = \"1 A\"" is an error, not a surprise.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace packsim::config {

enum class Dimension {
  kRatio,  // dimensionless; bare numbers or "%"
  kTime,
  kVoltage,
  kCurrent,
  kResistance,
  kCharge,
  kEnergy,
  kPower,
  kTemperature,            // absolute: "25 degC" -> 298.15 K
  kTemperatureDifference,  // "5 K" or "5 degC" -> 5 K
  kMass,
  kLength,
  kArea,
  kCapacitance,
  kThermalConductance,  // W/K
  kHeatTransfer,        // W/(m^2 K)
  kSpecificHeat,        // J/(kg K)
  kHeatCapacity,        // J/K
  kFrequency,
  kConductance,  // S
};

const char* dimension_name(Dimension d);
// The units a dimension accepts, for messages: "s, ms, us, ns, min, h".
std::string dimension_units(Dimension d);

struct QuantityResult {
  std::optional<double> value;  // SI
  std::string error;            // set when value is empty
  bool is_c_rate = false;       // "0.5 C": a current in multiples of the capacity (value = 0.5)
};

// Parses "number [unit]". A bare number is accepted only for kRatio. With allow_c_rate, a current
// may be written in C (multiples of the pack's capacity per hour); the caller scales it. Short
// human form of a number for messages ("0.5", "1e-06", "12").
std::string format_number(double v);
// The SI unit values of a dimension are held in inside packsim ("K" for temperatures).
const char* si_unit(Dimension d);
// "a voltage", "an energy".
std::string with_article(const char* noun);

QuantityResult parse_quantity(std::string_view text, Dimension dim, bool allow_c_rate = false);

// A size in bytes: "100 MB", "1 GiB", "4096 B", or a bare whole number of bytes. kB, MB, GB, TB
// are powers of 1000, KiB, MiB, GiB, TiB powers of 1024 (KB is taken as kB). At most 2^62.
struct ByteSizeResult {
  std::optional<std::uint64_t> value;
  std::string error;  // set when value is empty
};
ByteSizeResult parse_byte_size(std::string_view text);

}  // namespace packsim::config
