#pragma once
// Real-time set-up of the calling thread and process. Each helper reports {ok, message} and changes
// nothing it cannot: without the privilege (CAP_SYS_NICE, CAP_IPC_LOCK) or with a CPU that does not
// exist, packsim says so and runs anyway.

#include <string>

namespace packsim::hil {

struct RtResult {
  bool ok = true;
  std::string message;
};

// SCHED_FIFO at `priority` (1..99) for the calling thread.
RtResult set_fifo_priority(int priority);
// Pins the calling thread to one CPU.
RtResult set_cpu_affinity(int cpu);
// Keeps the calling thread off one CPU (the real-time thread's), where the machine has others.
RtResult avoid_cpu(int cpu);
// mlockall(MCL_CURRENT | MCL_FUTURE) and pre-faults some stack, so no page fault stalls a tick.
RtResult lock_memory();

// Asks the kernel's PM QoS for zero wake-up latency (/dev/cpu_dma_latency, as cyclictest does), so
// idle CPUs stay out of deep C-states for as long as the returned guard lives.
class CpuLatencyGuard {
 public:
  CpuLatencyGuard() = default;
  ~CpuLatencyGuard();
  CpuLatencyGuard(const CpuLatencyGuard&) = delete;
  CpuLatencyGuard& operator=(const CpuLatencyGuard&) = delete;
  RtResult acquire();

 private:
  int fd_ = -1;
};

}  // namespace packsim::hil
