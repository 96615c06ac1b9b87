#pragma once
// Counts heap allocations (malloc, calloc, realloc, aligned allocations and operator new) on every
// thread between start and stop, for the tests that prove a real-time path allocates nothing.
// Link tests/alloc_counter.cpp into the test executable; it replaces the global allocation
// functions, which the sanitizers also do, so such executables are built without them.
#include <cstdint>

namespace packsim::test {

void start_counting_allocations();
// The allocations since start_counting_allocations().
std::uint64_t stop_counting_allocations();

}  // namespace packsim::test
