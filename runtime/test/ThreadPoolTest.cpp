//===- ThreadPoolTest.cpp - The runtime's thread pool ---------------------===//
//
// Coverage and chunking of parallelFor, inline execution, exception
// propagation, nesting, concurrent callers and sustained reuse; a bounded
// size, and a clean error when threads cannot be created.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace accel::rt;

namespace {

/// Runs parallelFor and checks every index is visited exactly once and every
/// chunk but the last is at least `grain` long.
void checkCoverage(ThreadPool &pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(n);
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  pool.parallelFor(n, grain, [&](int64_t begin, int64_t end) {
    {
      std::lock_guard<std::mutex> lock(m);
      chunks.push_back({begin, end});
    }
    for (int64_t i = begin; i < end; ++i)
      hits[i]++;
  });
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(hits[i].load(), 1)
        << "n " << n << " grain " << grain << " i " << i;
  }
  for (auto [begin, end] : chunks) {
    if (end != n) {
      EXPECT_GE(end - begin, grain);
    }
  }
}

TEST(ThreadPool, CoversRangesExactlyOnce) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 100, 1000, 100003})
      for (int64_t grain : {0, 1, 3, 64, 5000})
        checkCoverage(pool, n, grain);
  }
}

TEST(ThreadPool, DefaultSizeIsTheHardware) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), static_cast<int>(std::max(
                             1u, std::thread::hardware_concurrency())));
  ThreadPool negative(-3);
  EXPECT_EQ(negative.size(), pool.size());
}

TEST(ThreadPool, SmallRangesRunInlineOnTheCaller) {
  ThreadPool pool(3);
  auto caller = std::this_thread::get_id();
  int calls = 0;
  pool.parallelFor(10, 10, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

TEST(ThreadPool, UsesSeveralThreads) {
  ThreadPool pool(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  // Chunks that wait for each other can only finish on distinct threads.
  std::atomic<int> arrived{0};
  pool.parallelFor(2, 1, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    }
    arrived++;
    while (arrived.load() < 2)
      std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ThreadPool, RethrowsAfterAllChunksFinish) {
  ThreadPool pool(3);
  for (int round = 0; round < 20; ++round) {
    std::atomic<int64_t> done{0};
    EXPECT_THROW(pool.parallelFor(1000, 10,
                                  [&](int64_t begin, int64_t end) {
                                    if (begin == 500 - 500 % 10 || begin == 0)
                                      throw std::runtime_error("chunk failed");
                                    done += end - begin;
                                  }),
                 std::runtime_error);
    // Every chunk that did not throw ran to completion before the rethrow.
    int64_t failedChunk = std::max<int64_t>(10, (1000 + 11) / 12);
    EXPECT_GE(done.load(), 1000 - 2 * failedChunk);
  }
  // The pool stays usable.
  checkCoverage(pool, 5000, 7);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallelFor(8, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      pool.parallelFor(100, 1, [&](int64_t b, int64_t e) { total += e - b; });
  });
  EXPECT_EQ(total.load(), 800);
}

TEST(ThreadPool, ConcurrentCallersAndSustainedReuse) {
  ThreadPool pool(2);
  auto hammer = [&] {
    for (int i = 0; i < 2000; ++i) {
      std::atomic<int64_t> sum{0};
      pool.parallelFor(64, 1, [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j)
          sum += j;
      });
      ASSERT_EQ(sum.load(), 64 * 63 / 2);
    }
  };
  std::thread other(hammer);
  hammer();
  other.join();
}

TEST(ThreadPool, RefusesAnAbsurdSize) {
  try {
    ThreadPool pool(2147483647);
    FAIL() << "made a pool of 2147483647 threads";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("2147483647 threads: at most 1024"),
              std::string::npos)
        << e.what();
  }
}

// With too little address space for thread stacks, creating the pool fails
// with the reason and leaves no thread behind, instead of crashing or
// hanging (run in a child process, whose limit the test sets).
TEST(ThreadPool, ThreadCreationFailureIsAnError) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit limit{};
    getrlimit(RLIMIT_AS, &limit);
    // Room for what the process has, not for 64 stacks of 8 MiB.
    FILE *status = fopen("/proc/self/statm", "r");
    unsigned long size = 0;
    if (!status || fscanf(status, "%lu", &size) != 1)
      _exit(3);
    fclose(status);
    limit.rlim_cur = size * sysconf(_SC_PAGESIZE) + (64ul << 20);
    if (setrlimit(RLIMIT_AS, &limit) != 0)
      _exit(4);
    try {
      ThreadPool pool(64);
      _exit(1); // created: the limit did not bite
    } catch (const std::runtime_error &e) {
      bool named = std::string(e.what()).find("cannot create thread") !=
                   std::string::npos;
      _exit(named ? 0 : 2);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (signal "
                                 << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
