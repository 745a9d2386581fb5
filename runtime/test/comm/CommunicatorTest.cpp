//===- CommunicatorTest.cpp - Gloo collectives across processes ----------===//
//
// Each test forks one process per rank on loopback; a rank reports by its
// exit status and a message through a pipe. Every test is bounded: the
// parent kills the ranks after a deadline, so a hang fails instead of
// stalling the suite.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

using namespace accel::rt;
using Clock = std::chrono::steady_clock;

namespace {

int freePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr *>(&addr), &len);
  ::close(s);
  return ntohs(addr.sin_port);
}

struct RankOutcome {
  int status = -1;        // exit status, or -signal
  std::string message;    // what the rank reported ("" = fine)
  double seconds = 0;     // until it exited
};

/// Runs body(rank) in `size` processes; body returns "" when all is well,
/// else what went wrong. Ranks still running after `limit` are killed.
std::vector<RankOutcome> runRanks(int size,
                                  const std::function<std::string(int)> &body,
                                  std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::vector<pid_t> pids(size);
  std::vector<int> pipes(size);
  auto start = Clock::now();
  for (int r = 0; r < size; ++r) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      std::string message;
      try {
        message = body(r);
      } catch (const std::exception &e) {
        message = std::string("uncaught: ") + e.what();
      }
      if (!message.empty())
        (void)!::write(fds[1], message.data(), message.size());
      ::close(fds[1]);
      ::_exit(message.empty() ? 0 : 1);
    }
    ::close(fds[1]);
    pids[r] = pid;
    pipes[r] = fds[0];
  }
  std::vector<RankOutcome> out(size);
  std::vector<bool> done(size, false);
  for (int left = size; left > 0;) {
    for (int r = 0; r < size; ++r) {
      int status;
      if (done[r] || ::waitpid(pids[r], &status, WNOHANG) != pids[r])
        continue;
      done[r] = true, --left;
      out[r].status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      out[r].seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
    if (left && Clock::now() - start > limit) {
      for (int r = 0; r < size; ++r)
        if (!done[r])
          ::kill(pids[r], SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int r = 0; r < size; ++r) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipes[r], buf, sizeof buf)) > 0)
      out[r].message.append(buf, static_cast<size_t>(n));
    ::close(pipes[r]);
  }
  return out;
}

CommOptions options(int rank, int size, int port, int timeoutMs = 20000) {
  CommOptions o;
  o.rank = rank, o.size = size, o.masterPort = port;
  o.timeout = std::chrono::milliseconds(timeoutMs);
  return o;
}

/// Values exactly representable and summable in any order, so the
/// reference is exact: rank r's element i.
float exactValue(int r, size_t i) { return float((r + 1) * 3 + int(i % 97)) / 8; }

std::string expectAllFine(const std::vector<RankOutcome> &outcomes) {
  std::string problems;
  for (size_t r = 0; r < outcomes.size(); ++r)
    if (outcomes[r].status != 0)
      problems += "rank " + std::to_string(r) + " (exit " +
                  std::to_string(outcomes[r].status) + "): " +
                  outcomes[r].message + "\n";
  return problems;
}

} // namespace

TEST(Communicator, CollectivesMatchTheReferenceOnEvenAndUnevenRings) {
  for (int size : {2, 3}) {
    int port = freePort();
    auto outcomes = runRanks(size, [&](int rank) -> std::string {
      auto comm = connectGloo(options(rank, size, port));
      // all-reduce (sum, max) of a length no ring divides evenly.
      const size_t n = 1001;
      std::vector<float> x(n);
      for (size_t i = 0; i < n; ++i)
        x[i] = exactValue(rank, i);
      comm->allReduce({x.data(), DType::F32, {int64_t(n)}}, ReduceOp::Sum)->wait();
      for (size_t i = 0; i < n; ++i) {
        float want = 0;
        for (int r = 0; r < size; ++r)
          want += exactValue(r, i);
        if (x[i] != want)
          return "sum element " + std::to_string(i) + ": " + std::to_string(x[i]) +
                 " != " + std::to_string(want);
      }
      int64_t block = int64_t((n + size - 1) / size) * 4;
      if (comm->bytesSent() != 2 * (size - 1) * block)
        return "all-reduce sent " + std::to_string(comm->bytesSent()) +
               " bytes, the ring sends " + std::to_string(2 * (size - 1) * block);
      std::vector<int64_t> m = {rank * 10, -rank, 7};
      comm->allReduce({m.data(), DType::I64, {3}}, ReduceOp::Max)->wait();
      if (m != std::vector<int64_t>{(size - 1) * 10, 0, 7})
        return "max is wrong";

      // reduce-scatter: block `rank` of [size * 4, 3], summed.
      std::vector<float> in(size * 12), part(12);
      for (size_t i = 0; i < in.size(); ++i)
        in[i] = exactValue(rank, i);
      comm->reduceScatter({in.data(), DType::F32, {size * 4, 3}},
                          {part.data(), DType::F32, {4, 3}}, ReduceOp::Sum)->wait();
      for (size_t i = 0; i < 12; ++i) {
        float want = 0;
        for (int r = 0; r < size; ++r)
          want += exactValue(r, rank * 12 + i);
        if (part[i] != want)
          return "reduce-scatter element " + std::to_string(i);
      }
      // all-gather: rank order.
      std::vector<int32_t> mine = {rank, rank * 2}, all(2 * size);
      comm->allGather({mine.data(), DType::I32, {2}}, {all.data(), DType::I32, {2 * size}})->wait();
      for (int r = 0; r < size; ++r)
        if (all[2 * r] != r || all[2 * r + 1] != 2 * r)
          return "all-gather block " + std::to_string(r);
      // broadcast from the last rank.
      std::vector<double> b(5, rank == size - 1 ? 2.5 : -1.0);
      comm->broadcast({b.data(), DType::F64, {5}}, size - 1)->wait();
      if (b != std::vector<double>(5, 2.5))
        return "broadcast";
      comm->barrier();
      return "";
    });
    EXPECT_EQ(expectAllFine(outcomes), "") << "group of " << size;
  }
}

TEST(Communicator, AsyncWorkCompletesInOrderAndRerunsAreBitwiseEqual) {
  const int size = 3;
  int port = freePort();
  auto outcomes = runRanks(size, [&](int rank) -> std::string {
    auto comm = connectGloo(options(rank, size, port));
    // Sums whose value depends on the order of addition.
    std::mt19937 rng(rank + 1);
    std::normal_distribution<float> normal;
    std::vector<float> base(4099);
    for (float &v : base)
      v = normal(rng) * std::pow(10.0f, float(rng() % 8) - 4);
    std::vector<std::vector<float>> runs(3, base);
    std::vector<std::unique_ptr<Work>> pending;
    for (auto &run : runs)
      pending.push_back(comm->allReduce({run.data(), DType::F32, {int64_t(run.size())}},
                                        ReduceOp::Sum));
    for (auto &w : pending)
      w->wait();
    if (runs[1] != runs[0] || runs[2] != runs[0])
      return "reruns of one all-reduce differ";
    // Every rank holds the same bits.
    std::vector<float> everyone(base.size() * size);
    comm->allGather({runs[0].data(), DType::F32, {int64_t(base.size())}},
                    {everyone.data(), DType::F32, {int64_t(everyone.size())}})->wait();
    for (int r = 0; r < size; ++r)
      if (std::memcmp(everyone.data() + r * base.size(), runs[0].data(),
                      base.size() * sizeof(float)) != 0)
        return "rank " + std::to_string(r) + " holds other bits";
    return "";
  });
  EXPECT_EQ(expectAllFine(outcomes), "");
}

TEST(Communicator, ARankThatNeverArrivesIsNamed) {
  int port = freePort();
  auto outcomes = runRanks(2, [&](int rank) -> std::string {
    if (rank == 1)
      return ""; // never connects
    try {
      connectGloo(options(0, 2, port, 2000));
    } catch (const CommError &e) {
      std::string m = e.what();
      if (m.find("rank 1 never arrived") == std::string::npos)
        return "unhelpful message: " + m;
      return "";
    }
    return "connected without rank 1";
  });
  EXPECT_EQ(expectAllFine(outcomes), "");
  EXPECT_LT(outcomes[0].seconds, 15.0);
}

TEST(Communicator, ADeadOrStoppedPeerFailsTheCollectiveWithinTheTimeout) {
  for (bool stop : {false, true}) {
    int port = freePort();
    auto outcomes = runRanks(2, [&](int rank) -> std::string {
      auto comm = connectGloo(options(rank, 2, port, 2000));
      if (rank == 1) {
        if (stop)
          ::raise(SIGSTOP); // the parent kills it at the deadline
        ::_exit(0);         // dies without a word
      }
      std::vector<float> x(100000, 1.0f);
      auto start = Clock::now();
      try {
        comm->allReduce({x.data(), DType::F32, {100000}}, ReduceOp::Sum)->wait();
      } catch (const CommError &e) {
        double waited = std::chrono::duration<double>(Clock::now() - start).count();
        std::string m = e.what();
        if (m.find("rank 0 of 2") == std::string::npos)
          return "message does not name the rank: " + m;
        if (waited > 8)
          return "failed only after " + std::to_string(waited) + " s";
        // The communicator stays broken, with the same message.
        try {
          comm->allReduce({x.data(), DType::F32, {1}}, ReduceOp::Sum)->wait();
        } catch (const CommError &again) {
          return std::string(again.what()) == m ? "" : "a second, different error";
        }
        return "a broken communicator ran a collective";
      }
      return "the all-reduce succeeded without its peer";
    }, std::chrono::seconds(10)); // then the stopped rank is killed
    EXPECT_EQ(outcomes[0].status, 0) << (stop ? "stopped" : "dead") << " peer: "
                                     << outcomes[0].message;
  }
}
