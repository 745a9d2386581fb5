//===- StopSignals.h - SIGINT/SIGTERM as a request to stop ------*- C++ -*-===//
//
// A preemptible cluster (Slurm, Kubernetes) sends SIGTERM and waits a grace
// period before SIGKILL; a user at a terminal presses Ctrl-C. In both cases
// the work done since the last checkpoint should not be lost: the first
// SIGINT or SIGTERM only asks the training loop to stop after its current
// step (it then saves and exits non-zero); a second request ends the
// process at once, with the signal's default action, for a loop that does
// not stop. A copy of the first from another sender within a second (Slurm
// signals every process of a job step, and the launcher passes its copy on)
// is the same request, not a second one.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_STOPSIGNALS_H
#define ACCEL_RUNTIME_STOPSIGNALS_H

#include "accel/runtime/Executable.h"

#include <string>

namespace accel::rt {

/// Catches SIGINT and SIGTERM while it lives (one at a time per process);
/// the previous handlers come back when it is destroyed, unless a signal
/// came (the process then exits, and a late copy must not kill it).
class StopSignals {
public:
  /// `announce` is written to stderr when the first signal arrives (from
  /// the handler, so it is said even while a long step runs).
  explicit StopSignals(const std::string &announce);
  ~StopSignals();
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

  /// The first signal received (SIGINT or SIGTERM), or 0.
  static int requested();
};

/// What the training loop throws once it has stopped on a signal (after
/// saving): the tool exits with 128 + signal, as a shell reports it.
struct StoppedBySignal : Error {
  StoppedBySignal(int signal, const std::string &message)
      : Error(message), signal(signal) {}
  int signal;
};

} // namespace accel::rt

#endif // ACCEL_RUNTIME_STOPSIGNALS_H
