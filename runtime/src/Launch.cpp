//===- Launch.cpp - Starting the ranks of a job and finding one's place ---===//
#include "accel/runtime/Launch.h"

#include "accel/runtime/Executable.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

extern char **environ;

namespace accel::rt {
namespace {

const char *env(const char *name) {
  const char *v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int envInt(const char *name, int fallback, int min) {
  const char *v = env(name);
  if (!v)
    return fallback;
  char *end = nullptr;
  errno = 0;
  long n = std::strtol(v, &end, 10);
  if (errno || *end || n < min || n > (1 << 24))
    throw Error(std::string("environment variable ") + name + "='" + v +
                "' is not a valid number (at least " + std::to_string(min) +
                ")");
  return static_cast<int>(n);
}

std::atomic<int> forwardedSignal{0};
void rememberSignal(int sig) { forwardedSignal = sig; }

} // namespace

JobPlace jobPlaceFromEnvironment() {
  JobPlace p;
  const char *rankVar, *sizeVar, *localVar;
  if (env("RANK") || env("WORLD_SIZE")) {
    p.source = "accel/torchrun";
    rankVar = "RANK", sizeVar = "WORLD_SIZE", localVar = "LOCAL_RANK";
  } else if (env("SLURM_PROCID")) {
    p.source = "Slurm";
    rankVar = "SLURM_PROCID", sizeVar = "SLURM_NTASKS",
    localVar = "SLURM_LOCALID";
  } else if (env("OMPI_COMM_WORLD_RANK")) {
    p.source = "Open MPI";
    rankVar = "OMPI_COMM_WORLD_RANK", sizeVar = "OMPI_COMM_WORLD_SIZE",
    localVar = "OMPI_COMM_WORLD_LOCAL_RANK";
  } else {
    return p;
  }
  if (!env(rankVar) || !env(sizeVar))
    throw Error(std::string(p.source) + " environment: " + rankVar + " and " +
                sizeVar + " must both be set");
  p.rank = envInt(rankVar, 0, 0);
  p.size = envInt(sizeVar, 1, 1);
  p.localRank = envInt(localVar, p.rank, 0);
  if (p.rank >= p.size)
    throw Error(std::string(rankVar) + "=" + std::to_string(p.rank) +
                " is not below " + sizeVar + "=" + std::to_string(p.size));
  if (const char *addr = env("MASTER_ADDR"))
    p.masterAddr = addr;
  else if (p.size > 1 && p.source != "accel/torchrun")
    throw Error(p.source + " environment: set MASTER_ADDR (and MASTER_PORT) "
                           "to rank 0's host");
  p.masterPort = envInt("MASTER_PORT", p.masterPort, 1);
  // torchrun's agent already serves its own store on MASTER_PORT; ours
  // goes on the next port.
  if (const char *agent = env("TORCHELASTIC_USE_AGENT_STORE");
      agent && std::string(agent) == "True")
    ++p.masterPort;
  if (p.masterPort > 65535)
    throw Error("MASTER_PORT=" + std::to_string(p.masterPort) +
                " is not a TCP port");
  return p;
}

/// A TCP port nothing listens on now (the kernel's choice for port 0).
static int freeLocalPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw Error(std::string("launch: cannot find a free port: ") +
                std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

int launchRanks(const std::vector<std::string> &argv, const LaunchOptions &o) {
  if (o.procsPerNode < 1 || o.nodes < 1 || o.nodeRank < 0 ||
      o.nodeRank >= o.nodes)
    throw Error("launch: need --nproc-per-node >= 1 and 0 <= --node-rank < "
                "--nnodes");
  int world = o.procsPerNode * o.nodes;
  int port = o.masterPort ? o.masterPort : freeLocalPort();
  // Signals to the launcher are forwarded to the ranks once they run.
  struct sigaction act {
  }, oldInt{}, oldTerm{};
  act.sa_handler = rememberSignal;
  sigemptyset(&act.sa_mask);
  ::sigaction(SIGINT, &act, &oldInt);
  ::sigaction(SIGTERM, &act, &oldTerm);

  std::vector<pid_t> pids;
  pid_t launcher = ::getpid();
  for (int local = 0; local < o.procsPerNode; ++local) {
    int rank = o.nodeRank * o.procsPerNode + local;
    pid_t pid = ::fork();
    if (pid < 0)
      throw Error(std::string("launch: cannot start rank ") +
                  std::to_string(rank) + ": " + std::strerror(errno));
    if (pid == 0) {
      ::sigaction(SIGINT, &oldInt, nullptr);
      ::sigaction(SIGTERM, &oldTerm, nullptr);
      // A rank hears a signal once, from the launcher: Ctrl-C at a terminal
      // goes to the foreground process group, which the ranks leave (a
      // second signal would make them stop at once instead of saving). They
      // do not outlive the launcher.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != launcher)
        ::_exit(1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.procsPerNode).c_str(), 1);
      ::setenv("MASTER_ADDR", o.masterAddr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv(kLaunchedRankVariable, "1", 1);
      std::vector<char *> args;
      for (const std::string &a : argv)
        args.push_back(const_cast<char *>(a.c_str()));
      args.push_back(nullptr);
      ::execv("/proc/self/exe", args.data());
      std::fprintf(stderr, "launch: cannot run rank %d: %s\n", rank,
                   std::strerror(errno));
      ::_exit(127);
    }
    pids.push_back(pid);
  }

  int running = static_cast<int>(pids.size());
  std::vector<bool> done(pids.size(), false);
  using Clock = std::chrono::steady_clock;
  auto reportAt = Clock::time_point::max();
  bool failed = false, tornDown = false, stoppedAsAsked = false;
  int stoppedBy = 0; // the first signal passed on to the ranks
  // Failures seen before the report: a rank that died of a signal is the
  // likely cause, its peers' errors the consequence; they often exit first,
  // so the report waits a moment and names signals first.
  std::vector<std::pair<bool, std::string>> failures; // (by signal, text)
  auto signalAll = [&](int sig) {
    for (size_t i = 0; i < pids.size(); ++i)
      if (!done[i])
        ::kill(pids[i], sig);
  };
  while (running > 0) {
    // Passed on as it came: a first SIGINT/SIGTERM makes the ranks finish
    // their step and save (however long that takes; a hung collective ends
    // at the communication timeout), a second one stops them at once.
    if (int sig = forwardedSignal.exchange(0)) {
      signalAll(sig);
      if (!stoppedBy)
        stoppedBy = sig;
    }
    int status;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      size_t i = 0;
      while (i < pids.size() && pids[i] != pid)
        ++i;
      if (i == pids.size())
        continue;
      done[i] = true, --running;
      int rank = o.nodeRank * o.procsPerNode + static_cast<int>(i);
      bool exited = WIFEXITED(status);
      int code = exited ? WEXITSTATUS(status) : 0;
      if (stoppedBy && exited &&
          (code == 128 + SIGINT || code == 128 + SIGTERM)) {
        stoppedAsAsked = true; // stopped after a step, as the signal asked
      } else if (!exited || code != 0) {
        failed = true;
        // After the teardown, the others' ends are its consequence.
        if (!tornDown) {
          if (failures.empty())
            reportAt = Clock::now() + std::chrono::milliseconds(500);
          failures.push_back(
              {!exited,
               "rank " + std::to_string(rank) +
                   (exited ? " exited with status " + std::to_string(code)
                           : std::string(" was killed by signal ") +
                                 std::to_string(WTERMSIG(status)) + " (" +
                                 strsignal(WTERMSIG(status)) + ")")});
        }
      }
      if (running > 0)
        continue;
    }
    if (!failures.empty() && (Clock::now() > reportAt || running == 0)) {
      std::stable_sort(
          failures.begin(), failures.end(),
          [](const auto &a, const auto &b) { return a.first > b.first; });
      std::string text;
      for (const auto &f : failures)
        text += (text.empty() ? "" : "; ") + f.second;
      std::fprintf(stderr, "accel-run: %s%s\n", text.c_str(),
                   running > 0 ? "; stopping the other ranks" : "");
      failures.clear();
      // The job cannot go on without the failed rank, and the others cannot
      // finish a step without it: they are killed, not asked to stop.
      if (!tornDown)
        signalAll(SIGKILL);
      tornDown = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
  if (failed)
    return 1;
  // Stopped on request: the status a shell gives a process ended by it.
  return stoppedAsAsked ? 128 + stoppedBy : 0;
}

} // namespace accel::rt
