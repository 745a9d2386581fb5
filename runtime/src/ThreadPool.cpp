//===- ThreadPool.cpp - Fixed-size pool for data-parallel kernels ---------===//
//
// Persistent workers wait for a task generation, claim fixed-size chunks
// under the pool mutex and count finished chunks down atomically. The caller
// runs chunks too, then waits for the stragglers. Both sides spin for a short
// while before sleeping: kernels arrive back to back during a forward pass,
// and a futex wake-up costs more than most small kernels.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>

namespace accel::rt {

namespace {
/// Chunks per thread: more than one so uneven chunks (rows of different
/// cost, a thread descheduled by the OS) balance out.
constexpr int64_t kChunksPerThread = 4;
/// How long an idle thread spins before blocking.
constexpr std::chrono::microseconds kSpinTime(50);

/// Set on pool workers and on a caller while it runs a task, so nested
/// parallelFor calls run inline instead of deadlocking.
thread_local bool insidePool = false;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// Spins until pred() holds or kSpinTime passes; returns pred().
template <typename Pred> bool spinUntil(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred())
        return true;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return pred();
  }
}

struct InsideGuard {
  bool previous = insidePool;
  InsideGuard() { insidePool = true; }
  ~InsideGuard() { insidePool = previous; }
};
} // namespace

ThreadPool::ThreadPool(int n) : numThreads(n) {
  if (numThreads <= 0)
    numThreads = std::max(1u, std::thread::hardware_concurrency());
  if (numThreads > kMaxThreads)
    throw std::runtime_error("a pool of " + std::to_string(numThreads) +
                             " threads: at most " +
                             std::to_string(kMaxThreads) + " are allowed");
  workers.reserve(numThreads - 1);
  try {
    for (int i = 1; i < numThreads; ++i)
      workers.emplace_back([this, i] { workerLoop(i); });
  } catch (const std::system_error &e) {
    // The destructor will not run for a half-built pool: stop what started.
    size_t started = workers.size();
    stop();
    throw std::runtime_error("cannot create thread " +
                             std::to_string(started + 1) + " of " +
                             std::to_string(numThreads) + ": " + e.what());
  }
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    generation.fetch_add(1, std::memory_order_release);
  }
  wake.notify_all();
  for (std::thread &t : workers)
    t.join();
  workers.clear();
}

void ThreadPool::workerLoop(int) {
  insidePool = true;
  uint64_t seen = 0;
  for (;;) {
    auto changed = [&] {
      return generation.load(std::memory_order_acquire) != seen;
    };
    if (!spinUntil(changed)) {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, changed);
    }
    seen = generation.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping)
        return;
    }
    runChunks(seen);
  }
}

void ThreadPool::runChunks(uint64_t gen) {
  for (;;) {
    const std::function<void(int64_t, int64_t)> *fn;
    int64_t begin, end;
    {
      // The generation check keeps a worker that woke late from claiming a
      // chunk of a later task with the bounds of an earlier one.
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping || generation.load(std::memory_order_relaxed) != gen ||
          nextChunk >= numChunks)
        return;
      fn = task;
      begin = nextChunk++ * chunk;
      end = std::min(taskN, begin + chunk);
    }
    try {
      (*fn)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error)
        error = std::current_exception();
    }
    if (chunksLeft.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_all();
    }
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  int64_t maxChunks = numThreads * kChunksPerThread;
  int64_t chunkLen = std::max(grain, (n + maxChunks - 1) / maxChunks);
  int64_t count = (n + chunkLen - 1) / chunkLen;
  if (numThreads == 1 || count == 1 || insidePool) {
    fn(0, n);
    return;
  }

  std::lock_guard<std::mutex> submitLock(submit);
  InsideGuard inside;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> lock(mutex);
    task = &fn;
    taskN = n;
    chunk = chunkLen;
    numChunks = count;
    nextChunk = 0;
    error = nullptr;
    chunksLeft.store(count, std::memory_order_relaxed);
    gen = generation.load(std::memory_order_relaxed) + 1;
    generation.store(gen, std::memory_order_release);
  }
  wake.notify_all();
  runChunks(gen);

  auto finished = [&] {
    return chunksLeft.load(std::memory_order_acquire) == 0;
  };
  std::exception_ptr failure;
  if (!spinUntil(finished)) {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, finished);
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    task = nullptr;
    failure = std::move(error);
    error = nullptr;
  }
  if (failure)
    std::rethrow_exception(failure);
}

} // namespace accel::rt
