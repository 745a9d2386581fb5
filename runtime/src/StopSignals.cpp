//===- StopSignals.cpp - SIGINT/SIGTERM as a request to stop --------------===//
//
// The handler only stores the signal and writes a prepared message (both
// async-signal-safe); the loop polls requested() between steps.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/StopSignals.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace accel::rt {
namespace {

std::atomic<int> firstSignal{0};
std::atomic<pid_t> firstSender{0};
std::atomic<int64_t> firstMillis{0};
std::atomic<bool> installed{false};
char message[256];
size_t messageLength = 0;
struct sigaction previousInt, previousTerm;

int64_t nowMillis() {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t); // async-signal-safe
  return int64_t(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

void onSignal(int sig, siginfo_t *info, void *) {
  int none = 0;
  if (firstSignal.compare_exchange_strong(none, sig)) {
    firstSender = info->si_pid;
    firstMillis = nowMillis();
    ssize_t ignored = ::write(STDERR_FILENO, message, messageLength);
    (void)ignored;
    return;
  }
  // One request often arrives twice within moments: Slurm signals every
  // process of the step and the launcher passes its own copy on; torchrun
  // adds a SIGTERM to the terminal's SIGINT. Only a signal from the sender
  // of the first, or one a second later, is a second request.
  if (info->si_pid != firstSender && nowMillis() - firstMillis < 1000)
    return;
  // The second request: the default action (termination) at once.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

} // namespace

StopSignals::StopSignals(const std::string &announce) {
  if (installed.exchange(true))
    throw Error("StopSignals: signal handlers are already installed");
  messageLength = std::min(announce.size(), sizeof message);
  std::memcpy(message, announce.data(), messageLength);
  firstSignal = 0;
  struct sigaction act {};
  act.sa_sigaction = onSignal;
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_SIGINFO | SA_RESTART; // blocking reads and writes go on
  ::sigaction(SIGINT, &act, &previousInt);
  ::sigaction(SIGTERM, &act, &previousTerm);
}

StopSignals::~StopSignals() {
  // After a stop request the process is on its way out: a late copy of the
  // request (Slurm's, after the launcher's) must not kill it with the
  // default action once it has saved, so the handler stays.
  if (firstSignal == 0) {
    ::sigaction(SIGINT, &previousInt, nullptr);
    ::sigaction(SIGTERM, &previousTerm, nullptr);
  }
  installed = false;
}

int StopSignals::requested() { return firstSignal.load(); }

} // namespace accel::rt
