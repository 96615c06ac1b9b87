#include "packsim/hil/rt_setup.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace packsim::hil {

RtResult set_fifo_priority(int priority) {
  const int lo = sched_get_priority_min(SCHED_FIFO), hi = sched_get_priority_max(SCHED_FIFO);
  if (priority < lo || priority > hi) {
    return {false, "priority " + std::to_string(priority) + " is outside SCHED_FIFO's " +
                       std::to_string(lo) + ".." + std::to_string(hi) + "; running without it"};
  }
  sched_param sp{};
  sp.sched_priority = priority;
  const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  if (rc != 0) {
    return {false, std::string("cannot set SCHED_FIFO priority ") + std::to_string(priority) + ": " +
                       std::strerror(rc) + (rc == EPERM ? " (needs root or CAP_SYS_NICE)" : "") +
                       "; running with normal scheduling"};
  }
  return {true, "SCHED_FIFO priority " + std::to_string(priority)};
}

RtResult set_cpu_affinity(int cpu) {
  const long n = sysconf(_SC_NPROCESSORS_CONF);
  if (cpu < 0 || cpu >= n || cpu >= CPU_SETSIZE) {
    return {false, "no CPU " + std::to_string(cpu) + " (this machine has " + std::to_string(n) +
                       "); running unpinned"};
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) {
    return {false, "cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc) + "; running unpinned"};
  }
  return {true, "pinned to CPU " + std::to_string(cpu)};
}

RtResult lock_memory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    const int err = errno;
    return {false, std::string("cannot lock memory: ") + std::strerror(err) +
                       (err == EPERM || err == ENOMEM ? " (needs root, CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK)" : "") +
                       "; pages may fault during ticks"};
  }
  // Touch a stack reserve now, so the tick's deeper calls do not fault it in later.
  constexpr std::size_t kStack = 256 * 1024;
  char reserve[kStack];
  std::memset(reserve, 0, kStack);
  asm volatile("" : : "r"(reserve) : "memory");  // keep the writes
  return {true, "memory locked"};
}

}  // namespace packsim::hil
