#include "lock_log_counter.hpp"

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>

namespace {

std::atomic<bool> g_locks_on{false};
std::atomic<std::uint64_t> g_locks{0};
std::atomic<bool> g_logs_on{false};
std::atomic<std::uint64_t> g_syslog{0};
std::atomic<std::uint64_t> g_spdlog{0};

inline void note_lock() {
  if (g_locks_on.load(std::memory_order_acquire)) g_locks.fetch_add(1, std::memory_order_relaxed);
}

// glibc's functions behind the ones defined below, looked up on first use (and, for most, before
// any test runs, by the constructor below). dlsym resolves them inside the C library, whose own
// locking does not go through these definitions, so the look-up cannot recurse.
template <typename F>
F real(std::atomic<F>& slot, const char* name) {
  F f = slot.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
    if (f == nullptr) std::abort();
    slot.store(f, std::memory_order_release);
  }
  return f;
}
using Mutex = int (*)(pthread_mutex_t*);
using TimedMutex = int (*)(pthread_mutex_t*, const struct timespec*);
using RwLock = int (*)(pthread_rwlock_t*);
using Spin = int (*)(pthread_spinlock_t*);
using SemWait = int (*)(sem_t*);
using SemTimed = int (*)(sem_t*, const struct timespec*);
std::atomic<Mutex> g_lock{nullptr}, g_trylock{nullptr};
std::atomic<TimedMutex> g_timedlock{nullptr};
std::atomic<RwLock> g_rdlock{nullptr}, g_wrlock{nullptr}, g_tryrdlock{nullptr},
    g_trywrlock{nullptr};
std::atomic<Spin> g_spin{nullptr};
std::atomic<SemWait> g_sem_wait{nullptr};
std::atomic<SemTimed> g_sem_timedwait{nullptr};
[[gnu::constructor]] void resolve() {
  real(g_lock, "pthread_mutex_lock");
  real(g_trylock, "pthread_mutex_trylock");
  real(g_timedlock, "pthread_mutex_timedlock");
  real(g_rdlock, "pthread_rwlock_rdlock");
  real(g_wrlock, "pthread_rwlock_wrlock");
  real(g_tryrdlock, "pthread_rwlock_tryrdlock");
  real(g_trywrlock, "pthread_rwlock_trywrlock");
  real(g_spin, "pthread_spin_lock");
  real(g_sem_wait, "sem_wait");
  real(g_sem_timedwait, "sem_timedwait");
}

// A sink that only counts, without a mutex of its own (it must not count itself).
class CountingSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg&) override {
    if (g_logs_on.load(std::memory_order_acquire)) g_spdlog.fetch_add(1, std::memory_order_relaxed);
  }
  void flush_() override {}
};

int g_capture_fd = -1;
int g_saved_out = -1, g_saved_err = -1;

}  // namespace

extern "C" {
int pthread_mutex_lock(pthread_mutex_t* m) {
  note_lock();
  return real(g_lock, "pthread_mutex_lock")(m);
}
int pthread_mutex_trylock(pthread_mutex_t* m) {
  note_lock();
  return real(g_trylock, "pthread_mutex_trylock")(m);
}
int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* t) {
  note_lock();
  return real(g_timedlock, "pthread_mutex_timedlock")(m, t);
}
int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
  note_lock();
  return real(g_rdlock, "pthread_rwlock_rdlock")(l);
}
int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
  note_lock();
  return real(g_wrlock, "pthread_rwlock_wrlock")(l);
}
int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) {
  note_lock();
  return real(g_tryrdlock, "pthread_rwlock_tryrdlock")(l);
}
int pthread_rwlock_trywrlock(pthread_rwlock_t* l) {
  note_lock();
  return real(g_trywrlock, "pthread_rwlock_trywrlock")(l);
}
int pthread_spin_lock(pthread_spinlock_t* l) {
  note_lock();
  return real(g_spin, "pthread_spin_lock")(l);
}
int sem_wait(sem_t* s) {
  note_lock();
  return real(g_sem_wait, "sem_wait")(s);
}
int sem_timedwait(sem_t* s, const struct timespec* t) {
  note_lock();
  return real(g_sem_timedwait, "sem_timedwait")(s, t);
}
// The system log: counted, not forwarded (a test has no business writing to it).
void syslog(int, const char*, ...) { g_syslog.fetch_add(1, std::memory_order_relaxed); }
void vsyslog(int, const char*, va_list) { g_syslog.fetch_add(1, std::memory_order_relaxed); }
void __syslog_chk(int, int, const char*, ...) { g_syslog.fetch_add(1, std::memory_order_relaxed); }
void __vsyslog_chk(int, int, const char*, va_list) {
  g_syslog.fetch_add(1, std::memory_order_relaxed);
}
}

namespace packsim::test {

void start_counting_locks() {
  g_locks = 0;
  g_locks_on.store(true, std::memory_order_release);
}

std::uint64_t stop_counting_locks() {
  g_locks_on = false;
  return g_locks.load();
}

void prepare_log_capture() {
  if (g_capture_fd < 0) {
    char path[] = "/tmp/packsim-log-capture-XXXXXX";
    g_capture_fd = mkstemp(path);
    if (g_capture_fd < 0) std::abort();
    unlink(path);
  }
  auto logger = std::make_shared<spdlog::logger>("counting", std::make_shared<CountingSink>());
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void start_capturing_logs() {
  std::fflush(stdout);
  std::fflush(stderr);
  if (ftruncate(g_capture_fd, 0) != 0 || lseek(g_capture_fd, 0, SEEK_SET) != 0) std::abort();
  g_saved_out = dup(1);
  g_saved_err = dup(2);
  dup2(g_capture_fd, 1);
  dup2(g_capture_fd, 2);
  g_syslog = 0;
  g_spdlog = 0;
  g_logs_on.store(true, std::memory_order_release);
}

LogCapture stop_capturing_logs() {
  g_logs_on = false;
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(g_saved_out, 1);
  dup2(g_saved_err, 2);
  close(g_saved_out);
  close(g_saved_err);
  LogCapture c;
  c.syslog = g_syslog.load();
  c.spdlog = g_spdlog.load();
  const off_t size = lseek(g_capture_fd, 0, SEEK_END);
  if (size > 0) {
    c.output.resize(static_cast<std::size_t>(size));
    const ssize_t got = pread(g_capture_fd, c.output.data(), c.output.size(), 0);
    c.output.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  return c;
}

}  // namespace packsim::test
