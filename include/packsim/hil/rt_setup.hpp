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
// mlockall(MCL_CURRENT | MCL_FUTURE) and pre-faults some stack, so no page fault stalls a tick.
RtResult lock_memory();

}  // namespace packsim::hil
