#include "alloc_counter.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<std::uint64_t> g_allocations{0};
char g_thread_name[16] = {};  // empty: every thread counts
void note() {
  if (!g_counting.load(std::memory_order_acquire)) return;
  if (g_thread_name[0] != '\0') {
    char name[16] = {};
    prctl(PR_GET_NAME, name, 0, 0, 0);  // this thread's name; a syscall, no allocation
    if (std::strncmp(name, g_thread_name, sizeof name) != 0) return;
  }
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

namespace packsim::test {
void start_counting_allocations() {
  g_thread_name[0] = '\0';
  g_allocations = 0;
  g_counting.store(true, std::memory_order_release);
}
void start_counting_allocations_on(const char* thread_name) {
  std::strncpy(g_thread_name, thread_name, sizeof g_thread_name - 1);
  g_allocations = 0;
  g_counting.store(true, std::memory_order_release);
}
std::uint64_t stop_counting_allocations() {
  g_counting = false;
  return g_allocations.load();
}
}  // namespace packsim::test

// glibc's own entry points, so the replacements below can count and forward.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* malloc(std::size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t s) {
  note();
  return __libc_calloc(n, s);
}
void* realloc(void* p, std::size_t n) {
  note();
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) {
  note();
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  note();
  *out = __libc_memalign(a, n);
  return *out ? 0 : ENOMEM;
}
}

void* operator new(std::size_t n) {
  note();
  if (void* p = __libc_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
