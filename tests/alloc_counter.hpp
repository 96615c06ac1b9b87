#pragma once
// Counts heap allocations (malloc, calloc, realloc, aligned allocations and operator new) on every
// thread between start and stop, for the tests that prove a real-time path allocates nothing.
// Link tests/alloc_counter.cpp into the test executable; it replaces the global allocation
// functions, which the sanitizers also do, so such executables are built without them.
#include <cstdint>

namespace packsim::test {

void start_counting_allocations();
// Counts only on threads with this name (pthread_setname_np), from whatever code they run.
void start_counting_allocations_on(const char* thread_name);
// The allocations since start_counting_allocations() or start_counting_allocations_on().
std::uint64_t stop_counting_allocations();

}  // namespace packsim::test
