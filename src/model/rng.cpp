#include "packsim/model/rng.hpp"

#include <cmath>

namespace packsim::model {
namespace {
constexpr std::uint32_t kM0 = 0xD2511F53u;
constexpr std::uint32_t kM1 = 0xCD9E8D57u;
constexpr std::uint32_t kW0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t kW1 = 0xBB67AE85u;  // sqrt(3) - 1

inline void mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi, std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
}  // namespace

Philox4x32Counter philox4x32_10(Philox4x32Counter c, Philox4x32Key k) noexcept {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    std::uint32_t hi0 = 0, lo0 = 0, hi1 = 0, lo1 = 0;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
  }
  return c;
}

Philox4x32Counter random_block(std::uint64_t seed, RngStream stream, std::uint32_t entity,
                               std::uint64_t counter) noexcept {
  const Philox4x32Counter ctr = {static_cast<std::uint32_t>(counter),
                                 static_cast<std::uint32_t>(counter >> 32), entity,
                                 static_cast<std::uint32_t>(stream)};
  const Philox4x32Key key = {static_cast<std::uint32_t>(seed),
                             static_cast<std::uint32_t>(seed >> 32)};
  return philox4x32_10(ctr, key);
}

double uniform_open(std::uint32_t hi, std::uint32_t lo) noexcept {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;  // 53 random bits
  return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
}

double standard_normal(std::uint64_t seed, RngStream stream, std::uint32_t entity,
                       std::uint64_t counter) noexcept {
  const auto b = random_block(seed, stream, entity, counter);
  const double u1 = uniform_open(b[0], b[1]);
  const double u2 = uniform_open(b[2], b[3]);
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

}  // namespace packsim::model
