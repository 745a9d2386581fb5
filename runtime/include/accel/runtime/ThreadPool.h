//===- ThreadPool.h - Fixed-size pool for data-parallel kernels -*- C++ -*-===//
//
// Kernels split their outer loops over this pool. It is the runtime's only
// source of host threads; BLAS is told to use the same thread count.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_THREADPOOL_H
#define ACCEL_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace accel::rt {

class ThreadPool {
public:
  /// More threads than this is a mistake, not a machine (and would exhaust
  /// the process limit before failing).
  static constexpr int kMaxThreads = 1024;

  /// numThreads <= 0 picks std::thread::hardware_concurrency(). Throws
  /// std::runtime_error, naming the count, for more than kMaxThreads, and
  /// when a thread cannot be created (the reason, with every thread already
  /// started stopped and joined).
  explicit ThreadPool(int numThreads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return numThreads; }

  /// Calls fn(begin, end) over disjoint chunks covering [0, n), each at least
  /// `grain` long (except the last), on up to size() threads including the
  /// caller. Returns when all chunks are done. Runs inline when n <= grain
  /// and when called from inside fn. If fn throws, the first exception is
  /// rethrown here once every chunk has finished.
  void parallelFor(int64_t n, int64_t grain,
                   const std::function<void(int64_t, int64_t)> &fn);

private:
  void workerLoop(int index);
  /// Stops and joins every worker.
  void stop();
  /// Claims and runs chunks of task generation `gen` until none are left.
  void runChunks(uint64_t gen);

  int numThreads;
  std::vector<std::thread> workers;
  std::mutex submit; // serializes parallelFor calls from different threads
  std::mutex mutex;  // guards the task fields, nextChunk, error, stopping
  std::condition_variable wake, done;
  const std::function<void(int64_t, int64_t)> *task = nullptr;
  int64_t taskN = 0, chunk = 0, numChunks = 0;
  int64_t nextChunk = 0;
  // Atomic so idle workers and the waiting caller can spin on them briefly
  // before sleeping on the condition variables.
  std::atomic<int64_t> chunksLeft{0};
  std::atomic<uint64_t> generation{0};
  std::exception_ptr error; // first exception thrown by a chunk
  bool stopping = false;
};

} // namespace accel::rt

#endif // ACCEL_RUNTIME_THREADPOOL_H
