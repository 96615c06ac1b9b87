#pragma once
// A bounded single-producer single-consumer ring: the real-time thread hands records to a writer
// thread without locks and without allocation (slots are built once; pushing copy-assigns into a
// slot, which for a pre-sized std::vector member reuses its storage). A full ring refuses the push
// (the producer counts it): the real-time thread never waits for a slow consumer.

#include <atomic>
#include <cstddef>
#include <new>
#include <vector>

namespace packsim::hil {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two; `prototype` initialises every slot (sizing
  // buffers).
  explicit SpscRing(std::size_t capacity, const T& prototype = T()) {
    std::size_t c = 1;
    while (c < capacity) c <<= 1;
    slots_.assign(c, prototype);
    mask_ = c - 1;
  }

  std::size_t capacity() const { return slots_.size(); }

  // Producer only.
  bool try_push(const T& value) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ == slots_.size()) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ == slots_.size()) return false;
    }
    slots_[head & mask_] = value;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer only.
  bool try_pop(T& out) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return false;
    }
    out = slots_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Either side, approximate.
  std::size_t size() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }

 private:
  static constexpr std::size_t kLine = 64;
  std::vector<T> slots_;
  std::size_t mask_ = 0;
  alignas(kLine) std::atomic<std::size_t> head_{0};  // written by the producer
  std::size_t tail_cache_ = 0;                       // producer's view of tail
  alignas(kLine) std::atomic<std::size_t> tail_{0};  // written by the consumer
  std::size_t head_cache_ = 0;                       // consumer's view of head
};

}  // namespace packsim::hil
