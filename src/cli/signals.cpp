// Process plumbing shared by both executables: the stop-signal flag and the guard around main.
#include <csignal>
#include <cstdio>
#include <exception>

#include "commands.hpp"

namespace packsim::cli {

std::atomic<int>& stop_request() {
  static std::atomic<int> flag{0};
  return flag;
}

namespace {
extern "C" void on_stop_signal(int sig) {
  // Only an async-signal-safe store; the run loop notices within a tick.
  stop_request().store(sig, std::memory_order_relaxed);
}
}  // namespace

int guarded_main(int (*body)(int, char**), int argc, char** argv) noexcept {
  // Past a file-size limit (ulimit -f) write() must fail with EFBIG, which the outputs report,
  // instead of SIGXFSZ killing the process with its outputs half-written.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());  // no spdlog here: it may be what threw
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return kExitRuntime;
}

void install_stop_handlers() {
  (void)stop_request();  // construct the flag before any handler can run
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

}  // namespace packsim::cli
