#include "packsim/hil/rt_setup.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
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
    return {false, std::string("cannot set SCHED_FIFO priority ") + std::to_string(priority) +
                       ": " + std::strerror(rc) +
                       (rc == EPERM ? " (needs root or CAP_SYS_NICE)" : "") +
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
    return {false, "cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc) +
                       "; running unpinned"};
  }
  return {true, "pinned to CPU " + std::to_string(cpu)};
}

RtResult avoid_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0)
    return {false, "cannot read affinity"};
  if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(static_cast<std::size_t>(cpu), &set))
    return {true, ""};
  CPU_CLR(static_cast<std::size_t>(cpu), &set);
  if (CPU_COUNT(&set) == 0) return {false, "no other CPU to keep the writer threads on"};
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0)
    return {false,
            std::string("cannot move off CPU ") + std::to_string(cpu) + ": " + std::strerror(rc)};
  return {true, "other threads kept off CPU " + std::to_string(cpu)};
}

RtResult lock_memory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    const int err = errno;
    return {false, std::string("cannot lock memory: ") + std::strerror(err) +
                       (err == EPERM || err == ENOMEM
                            ? " (needs root, CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK)"
                            : "") +
                       "; pages may fault during ticks"};
  }
  // Touch a stack reserve now, so the tick's deeper calls do not fault it in later.
  constexpr std::size_t kStack = std::size_t{256} * 1024;
  char reserve[kStack];
  std::memset(reserve, 0, kStack);
  asm volatile("" : : "r"(reserve) : "memory");  // keep the writes
  return {true, "memory locked"};
}

CpuLatencyGuard::~CpuLatencyGuard() {
  if (fd_ >= 0) close(fd_);
}

RtResult CpuLatencyGuard::acquire() {
  fd_ = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    return {false, std::string("cannot open /dev/cpu_dma_latency: ") + std::strerror(errno) +
                       "; idle CPUs may enter deep sleep states"};
  }
  const std::int32_t zero = 0;
  if (write(fd_, &zero, sizeof zero) != static_cast<ssize_t>(sizeof zero)) {
    close(fd_);
    fd_ = -1;
    return {false, "cannot write /dev/cpu_dma_latency; idle CPUs may enter deep sleep states"};
  }
  return {true, "/dev/cpu_dma_latency set to 0 us"};
}

}  // namespace packsim::hil
