#include <catch2/catch.hpp>
#include <cmath>

#include "packsim/model/rng.hpp"

using namespace packsim::model;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  // kat_vectors from Random123 1.09: philox4x32 10 rounds.
  CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
        Philox4x32Counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                      {0xffffffffu, 0xffffffffu}) ==
        Philox4x32Counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                      {0xa4093822u, 0x299f31d0u}) ==
        Philox4x32Counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("standard_normal has the moments of N(0,1)", "[rng]") {
  constexpr int kN = 200000;
  double sum = 0, sum2 = 0;
  for (int k = 0; k < kN; ++k) {
    const double x = standard_normal(42, RngStream::kSensorNoise, 7, static_cast<std::uint64_t>(k));
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / kN, var = sum2 / kN - mean * mean;
  // Standard error of the mean is 1/sqrt(N) = 0.0022; of the variance sqrt(2/N) = 0.0032.
  CHECK(std::abs(mean) < 5 * 0.0023);
  CHECK(std::abs(var - 1.0) < 5 * 0.0032);
}

TEST_CASE("draws depend on every key part and nothing else", "[rng]") {
  const auto a = random_block(1, RngStream::kSocSpread, 3, 9);
  CHECK(a == random_block(1, RngStream::kSocSpread, 3, 9));
  CHECK(a != random_block(2, RngStream::kSocSpread, 3, 9));
  CHECK(a != random_block(1, RngStream::kCapacitySpread, 3, 9));
  CHECK(a != random_block(1, RngStream::kSocSpread, 4, 9));
  CHECK(a != random_block(1, RngStream::kSocSpread, 3, 10));
  CHECK(a != random_block(1ull << 40, RngStream::kSocSpread, 3, 9));
}
