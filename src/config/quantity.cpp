#include "packsim/config/quantity.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "packsim/util/suggest.hpp"

namespace packsim::config {
namespace {

struct Unit {
  std::string_view name;
  Dimension dim;
  double scale;
  double offset;  // added after scaling (degC -> K)
};

constexpr std::array kUnits = {
    Unit{"s", Dimension::kTime, 1.0, 0.0},
    Unit{"ms", Dimension::kTime, 1e-3, 0.0},
    Unit{"us", Dimension::kTime, 1e-6, 0.0},
    Unit{"\xC2\xB5s", Dimension::kTime, 1e-6, 0.0},
    Unit{"ns", Dimension::kTime, 1e-9, 0.0},
    Unit{"min", Dimension::kTime, 60.0, 0.0},
    Unit{"h", Dimension::kTime, 3600.0, 0.0},
    Unit{"V", Dimension::kVoltage, 1.0, 0.0},
    Unit{"mV", Dimension::kVoltage, 1e-3, 0.0},
    Unit{"uV", Dimension::kVoltage, 1e-6, 0.0},
    Unit{"kV", Dimension::kVoltage, 1e3, 0.0},
    Unit{"A", Dimension::kCurrent, 1.0, 0.0},
    Unit{"mA", Dimension::kCurrent, 1e-3, 0.0},
    Unit{"kA", Dimension::kCurrent, 1e3, 0.0},
    Unit{"Ohm", Dimension::kResistance, 1.0, 0.0},
    Unit{"ohm", Dimension::kResistance, 1.0, 0.0},
    Unit{"\xCE\xA9", Dimension::kResistance, 1.0, 0.0},
    Unit{"mOhm", Dimension::kResistance, 1e-3, 0.0},
    Unit{"mohm", Dimension::kResistance, 1e-3, 0.0},
    Unit{"m\xCE\xA9", Dimension::kResistance, 1e-3, 0.0},
    Unit{"uOhm", Dimension::kResistance, 1e-6, 0.0},
    Unit{"kOhm", Dimension::kResistance, 1e3, 0.0},
    Unit{"kohm", Dimension::kResistance, 1e3, 0.0},
    Unit{"k\xCE\xA9", Dimension::kResistance, 1e3, 0.0},
    Unit{"MOhm", Dimension::kResistance, 1e6, 0.0},  // insulation resistances
    Unit{"M\xCE\xA9", Dimension::kResistance, 1e6, 0.0},
    Unit{"Mohm", Dimension::kResistance, 1e6, 0.0},
    Unit{"Ah", Dimension::kCharge, 3600.0, 0.0},
    Unit{"mAh", Dimension::kCharge, 3.6, 0.0},
    Unit{"As", Dimension::kCharge, 1.0, 0.0},
    Unit{"J", Dimension::kEnergy, 1.0, 0.0},
    Unit{"kJ", Dimension::kEnergy, 1e3, 0.0},
    Unit{"Wh", Dimension::kEnergy, 3600.0, 0.0},
    Unit{"kWh", Dimension::kEnergy, 3.6e6, 0.0},
    Unit{"W", Dimension::kPower, 1.0, 0.0},
    Unit{"mW", Dimension::kPower, 1e-3, 0.0},
    Unit{"kW", Dimension::kPower, 1e3, 0.0},
    Unit{"degC", Dimension::kTemperature, 1.0, 273.15},
    Unit{"\xC2\xB0"
         "C",
         Dimension::kTemperature, 1.0, 273.15},
    Unit{"K", Dimension::kTemperature, 1.0, 0.0},
    Unit{"kg", Dimension::kMass, 1.0, 0.0},
    Unit{"g", Dimension::kMass, 1e-3, 0.0},
    Unit{"m", Dimension::kLength, 1.0, 0.0},
    Unit{"cm", Dimension::kLength, 1e-2, 0.0},
    Unit{"mm", Dimension::kLength, 1e-3, 0.0},
    Unit{"m2", Dimension::kArea, 1.0, 0.0},
    Unit{"m^2", Dimension::kArea, 1.0, 0.0},
    Unit{"cm2", Dimension::kArea, 1e-4, 0.0},
    Unit{"mm2", Dimension::kArea, 1e-6, 0.0},
    Unit{"F", Dimension::kCapacitance, 1.0, 0.0},
    Unit{"mF", Dimension::kCapacitance, 1e-3, 0.0},
    Unit{"uF", Dimension::kCapacitance, 1e-6, 0.0},
    Unit{"\xC2\xB5"
         "F",
         Dimension::kCapacitance, 1e-6, 0.0},
    Unit{"W/K", Dimension::kThermalConductance, 1.0, 0.0},
    Unit{"mW/K", Dimension::kThermalConductance, 1e-3, 0.0},
    Unit{"W/m2/K", Dimension::kHeatTransfer, 1.0, 0.0},
    Unit{"W/(m2 K)", Dimension::kHeatTransfer, 1.0, 0.0},
    Unit{"J/kg/K", Dimension::kSpecificHeat, 1.0, 0.0},
    Unit{"J/(kg K)", Dimension::kSpecificHeat, 1.0, 0.0},
    Unit{"J/K", Dimension::kHeatCapacity, 1.0, 0.0},
    Unit{"kJ/K", Dimension::kHeatCapacity, 1e3, 0.0},
    Unit{"Hz", Dimension::kFrequency, 1.0, 0.0},
    Unit{"kHz", Dimension::kFrequency, 1e3, 0.0},
    Unit{"S", Dimension::kConductance, 1.0, 0.0},
    Unit{"mS", Dimension::kConductance, 1e-3, 0.0},
    Unit{"%", Dimension::kRatio, 0.01, 0.0},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string with_article(const char* noun) {
  const char c = noun[0];
  const bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return std::string(vowel ? "an " : "a ") + noun;
}

const char* si_unit(Dimension d) {
  switch (d) {
    case Dimension::kRatio:
      return "";
    case Dimension::kTime:
      return "s";
    case Dimension::kVoltage:
      return "V";
    case Dimension::kCurrent:
      return "A";
    case Dimension::kResistance:
      return "ohm";
    case Dimension::kCharge:
      return "A s";
    case Dimension::kEnergy:
      return "J";
    case Dimension::kPower:
      return "W";
    case Dimension::kTemperature:
    case Dimension::kTemperatureDifference:
      return "K";
    case Dimension::kMass:
      return "kg";
    case Dimension::kLength:
      return "m";
    case Dimension::kArea:
      return "m^2";
    case Dimension::kCapacitance:
      return "F";
    case Dimension::kThermalConductance:
      return "W/K";
    case Dimension::kHeatTransfer:
      return "W/(m^2 K)";
    case Dimension::kSpecificHeat:
      return "J/(kg K)";
    case Dimension::kHeatCapacity:
      return "J/K";
    case Dimension::kFrequency:
      return "Hz";
    case Dimension::kConductance:
      return "S";
  }
  return "";
}

const char* dimension_name(Dimension d) {
  switch (d) {
    case Dimension::kRatio:
      return "ratio";
    case Dimension::kTime:
      return "time";
    case Dimension::kVoltage:
      return "voltage";
    case Dimension::kCurrent:
      return "current";
    case Dimension::kResistance:
      return "resistance";
    case Dimension::kCharge:
      return "charge";
    case Dimension::kEnergy:
      return "energy";
    case Dimension::kPower:
      return "power";
    case Dimension::kTemperature:
      return "temperature";
    case Dimension::kTemperatureDifference:
      return "temperature difference";
    case Dimension::kMass:
      return "mass";
    case Dimension::kLength:
      return "length";
    case Dimension::kArea:
      return "area";
    case Dimension::kCapacitance:
      return "capacitance";
    case Dimension::kThermalConductance:
      return "thermal conductance";
    case Dimension::kHeatTransfer:
      return "heat transfer coefficient";
    case Dimension::kSpecificHeat:
      return "specific heat";
    case Dimension::kHeatCapacity:
      return "heat capacity";
    case Dimension::kFrequency:
      return "frequency";
    case Dimension::kConductance:
      return "conductance";
  }
  return "?";
}

std::string dimension_units(Dimension d) {
  if (d == Dimension::kTemperatureDifference) return "K, degC";
  std::string out;
  for (const auto& u : kUnits) {
    if (u.dim != d) continue;
    if (!out.empty()) out += ", ";
    out += u.name;
  }
  if (d == Dimension::kRatio) out = "a bare number or %";
  return out;
}

QuantityResult parse_quantity(std::string_view text, Dimension dim, bool allow_c_rate) {
  QuantityResult r;
  const std::string_view s = trim(text);
  double number = 0.0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || !std::isfinite(number)) {
    r.error = "expected a number followed by a unit of " + std::string(dimension_name(dim)) + " (" +
              dimension_units(dim) + "), got \"" + std::string(text) + "\"";
    return r;
  }
  const std::string_view unit = trim(std::string_view(ptr, static_cast<std::size_t>(end - ptr)));
  if (unit.empty()) {
    if (dim == Dimension::kRatio) {
      r.value = number;
      return r;
    }
    r.error = "\"" + std::string(text) + "\" has no unit; expected " +
              with_article(dimension_name(dim)) + " in " + dimension_units(dim);
    return r;
  }
  if (allow_c_rate && dim == Dimension::kCurrent && unit == "C") {
    r.value = number;
    r.is_c_rate = true;
    return r;
  }
  for (const auto& u : kUnits) {
    if (u.name != unit) continue;
    if (u.dim == dim) {
      r.value = number * u.scale + u.offset;
      return r;
    }
    if (dim == Dimension::kTemperatureDifference && u.dim == Dimension::kTemperature) {
      r.value = number * u.scale;  // a difference: no offset
      return r;
    }
    r.error = "unit '" + std::string(unit) + "' is " + with_article(dimension_name(u.dim)) +
              "; expected " + with_article(dimension_name(dim)) + " in " + dimension_units(dim) +
              (allow_c_rate && dim == Dimension::kCurrent ? ", C" : "");
    return r;
  }
  // Units of this dimension only: "mohms" suggests "mohm", never a unit the key would refuse.
  std::vector<std::string> names;
  for (const auto& u : kUnits) {
    if (u.dim == dim ||
        (dim == Dimension::kTemperatureDifference && u.dim == Dimension::kTemperature))
      names.emplace_back(u.name);
  }
  r.error = "unknown unit '" + std::string(unit) + "'" + did_you_mean(unit, names) + "; expected " +
            with_article(dimension_name(dim)) + " in " + dimension_units(dim) +
            (allow_c_rate && dim == Dimension::kCurrent ? ", C" : "");
  return r;
}

ByteSizeResult parse_byte_size(std::string_view text) {
  struct SizeUnit {
    std::string_view name;
    double scale;
  };
  static constexpr std::array<SizeUnit, 10> kSizeUnits = {{{"B", 1.0},
                                                           {"kB", 1e3},
                                                           {"KB", 1e3},
                                                           {"MB", 1e6},
                                                           {"GB", 1e9},
                                                           {"TB", 1e12},
                                                           {"KiB", 1024.0},
                                                           {"MiB", 1048576.0},
                                                           {"GiB", 1073741824.0},
                                                           {"TiB", 1099511627776.0}}};
  ByteSizeResult r;
  const std::string_view s = trim(text);
  double number = 0.0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, number);
  const std::string expected =
      "expected a size such as \"100 MB\" or \"1 GiB\" (B, kB, MB, GB, TB, "
      "KiB, MiB, GiB, TiB, or a whole number of bytes)";
  if (ec != std::errc() || !std::isfinite(number)) {
    r.error = "\"" + std::string(text) + "\" is not a size; " + expected;
    return r;
  }
  const std::string_view unit = trim(std::string_view(ptr, static_cast<std::size_t>(end - ptr)));
  double scale = 0.0;
  for (const auto& u : kSizeUnits) {
    if (u.name == unit) scale = u.scale;
  }
  if (unit.empty()) scale = 1.0;
  if (scale == 0.0) {
    r.error =
        "unknown unit '" + std::string(unit) + "' in \"" + std::string(text) + "\"; " + expected;
    return r;
  }
  const double bytes = number * scale;
  if (number < 0.0 || bytes > 4.611686018427387904e18) {
    r.error = "\"" + std::string(text) + "\" is out of range; expected 0 to 2^62 bytes";
    return r;
  }
  // "1.1 kB" is 1100 bytes give or take a rounding error; "1.5 B" is no size at all.
  const double whole = std::round(bytes);
  if (std::abs(bytes - whole) > 1e-3) {
    r.error = "\"" + std::string(text) + "\" is not a whole number of bytes";
    return r;
  }
  r.value = static_cast<std::uint64_t>(whole);
  return r;
}

}  // namespace packsim::config
