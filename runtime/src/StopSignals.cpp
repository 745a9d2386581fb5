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
#include <unistd.h>

namespace accel::rt {
namespace {

std::atomic<int> firstSignal{0};
std::atomic<bool> installed{false};
char message[256];
size_t messageLength = 0;
struct sigaction previousInt, previousTerm;

void onSignal(int sig) {
  int none = 0;
  if (firstSignal.compare_exchange_strong(none, sig)) {
    ssize_t ignored = ::write(STDERR_FILENO, message, messageLength);
    (void)ignored;
    return;
  }
  // The second signal: the default action (termination) at once.
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
  act.sa_handler = onSignal;
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_RESTART; // blocking reads and writes carry on
  ::sigaction(SIGINT, &act, &previousInt);
  ::sigaction(SIGTERM, &act, &previousTerm);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &previousInt, nullptr);
  ::sigaction(SIGTERM, &previousTerm, nullptr);
  installed = false;
}

int StopSignals::requested() { return firstSignal.load(); }

} // namespace accel::rt
