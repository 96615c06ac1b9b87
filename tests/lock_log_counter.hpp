#pragma once
// Counts lock acquisitions and log output, for the tests that prove a real-time path takes no
// lock and logs nothing (the companion of alloc_counter.hpp, used the same way: start, run the
// path, stop, expect 0).
//
// Locks: every call, on every thread, of pthread_mutex_lock / _trylock / _timedlock,
// pthread_rwlock_rdlock / _wrlock / _tryrdlock / _trywrlock, pthread_spin_lock, sem_wait and
// sem_timedwait between start and stop (std::mutex, std::shared_mutex, std::condition_variable
// and the C library's own pthread users all go through these). Link tests/lock_log_counter.cpp
// into the test executable: it defines those functions, forwarding to glibc's.
//
// Logs: whatever is written to stdout or stderr (file descriptors 1 and 2: printf, std::cerr,
// fprintf, write(2), spdlog's console sinks all end there) between start and stop, the calls of
// syslog / vsyslog, and every message that reaches spdlog's default logger at any level (it is
// replaced by a counting logger for the capture).
#include <cstdint>
#include <string>

namespace packsim::test {

void start_counting_locks();
std::uint64_t stop_counting_locks();

struct LogCapture {
  std::string output;        // what reached stdout / stderr
  std::uint64_t syslog = 0;  // syslog / vsyslog calls
  std::uint64_t spdlog = 0;  // messages to spdlog's default logger
  bool empty() const { return output.empty() && syslog == 0 && spdlog == 0; }
};
// Sets up the capture (opens its file, installs the counting spdlog logger): it may allocate, so
// call it before start_counting_allocations(); start_capturing_logs() then only redirects.
void prepare_log_capture();
void start_capturing_logs();
LogCapture stop_capturing_logs();

}  // namespace packsim::test
