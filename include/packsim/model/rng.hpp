#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). A draw is a pure function of
// (seed, stream, entity, counter): no generator state to carry, so results do not depend on the
// order in which cells are visited, on threads, or on how a run is split; same seed => same
// numbers.

#include <array>
#include <cstdint>

namespace packsim::model {

using Philox4x32Counter = std::array<std::uint32_t, 4>;
using Philox4x32Key = std::array<std::uint32_t, 2>;

// The raw block function, exposed for the known-answer test.
Philox4x32Counter philox4x32_10(Philox4x32Counter counter, Philox4x32Key key) noexcept;

// Named streams keep independent uses of one seed apart (cell spread, sensor noise, ...).
enum class RngStream : std::uint32_t {
  kCapacitySpread = 1,
  kResistanceSpread = 2,
  kSocSpread = 3,
  kSensorNoise = 16,
  kFault = 32,
};

// Four uniform 32-bit words for (seed, stream, entity, counter).
Philox4x32Counter random_block(std::uint64_t seed, RngStream stream, std::uint32_t entity,
                               std::uint64_t counter) noexcept;

// Uniform double in the open interval (0, 1) from two words (53 bits).
double uniform_open(std::uint32_t hi, std::uint32_t lo) noexcept;

// Standard normal N(0,1) by Box-Muller from one block.
double standard_normal(std::uint64_t seed, RngStream stream, std::uint32_t entity,
                       std::uint64_t counter) noexcept;

}  // namespace packsim::model
