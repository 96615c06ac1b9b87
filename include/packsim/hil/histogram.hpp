#pragma once
// A latency histogram for the real-time loop: fixed bins (0.5 us up to 20 ms, then one overflow
// bin), exact minimum, maximum and sum. One thread records (relaxed atomic increments: no lock, no
// allocation); another may read percentiles at any time for the live status line.

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>

namespace packsim::hil {

class LatencyHistogram {
 public:
  static constexpr std::int64_t kBinNs = 500;
  static constexpr std::size_t kBins = 40'000;  // 20 ms

  void record(std::int64_t ns) {
    const std::int64_t v = ns < 0 ? 0 : ns;
    const auto bin = static_cast<std::size_t>(v / kBinNs);
    bins_[bin < kBins ? bin : kBins].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(ns, std::memory_order_relaxed);
    if (ns < min_.load(std::memory_order_relaxed)) min_.store(ns, std::memory_order_relaxed);
    if (ns > max_.load(std::memory_order_relaxed)) max_.store(ns, std::memory_order_relaxed);
  }

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::int64_t min_ns() const { return count() ? min_.load(std::memory_order_relaxed) : 0; }
  std::int64_t max_ns() const { return count() ? max_.load(std::memory_order_relaxed) : 0; }
  double mean_ns() const {
    const auto n = count();
    return n ? static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n)
             : 0.0;
  }
  // The upper edge of the bin holding the q-quantile (q in [0, 1]), capped by the maximum.
  std::int64_t percentile_ns(double q) const {
    const auto n = count();
    if (n == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b <= kBins; ++b) {
      seen += bins_[b].load(std::memory_order_relaxed);
      if (seen >= rank) {
        const std::int64_t edge = static_cast<std::int64_t>(b + 1) * kBinNs;
        return b == kBins || edge > max_ns() ? max_ns() : edge;
      }
    }
    return max_ns();
  }

 private:
  std::array<std::atomic<std::uint32_t>, kBins + 1> bins_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> sum_{0};
  std::atomic<std::int64_t> min_{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::int64_t> max_{std::numeric_limits<std::int64_t>::min()};
};

}  // namespace packsim::hil
