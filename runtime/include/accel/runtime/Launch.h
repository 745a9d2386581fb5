//===- Launch.h - Starting the ranks of a job and finding one's place -*- C++ -*-===//
//
// A job is started either by accel itself (`accel-run --nproc-per-node N`
// re-runs its own command line once per local rank) or by a launcher users
// already have: torchrun, Slurm's srun, Open MPI's mpirun. Each rank then
// reads its place from the environment that launcher set.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_LAUNCH_H
#define ACCEL_RUNTIME_LAUNCH_H

#include <string>
#include <vector>

namespace accel::rt {

/// Where this process sits in its job.
struct JobPlace {
  int rank = 0, size = 1, localRank = 0;
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  /// Which environment said so ("accel/torchrun", "Slurm", "Open MPI", or
  /// "none" for a single process).
  std::string source = "none";
};

/// Reads RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT (set by
/// accel's launcher and torchrun), else SLURM_PROCID / SLURM_NTASKS /
/// SLURM_LOCALID, else OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK (the
/// master then from MASTER_ADDR / MASTER_PORT, as with torchrun under
/// Slurm). Under torchrun, whose agent serves its own store on
/// MASTER_PORT, accel's rendezvous uses the next port. Throws Error on a
/// malformed or inconsistent value, naming it.
JobPlace jobPlaceFromEnvironment();

struct LaunchOptions {
  int procsPerNode = 1;
  int nodes = 1;
  int nodeRank = 0;
  std::string masterAddr = "127.0.0.1";
  /// 0: a port free on this machine (what a one-machine job without
  /// --master-port uses, so two jobs there do not collide).
  int masterPort = 29500;
};

/// Runs `argv` once per local rank with the environment of JobPlace set
/// (global rank = nodeRank * procsPerNode + local rank), and waits. Returns
/// 0 when every rank exits 0. When one fails, says which and how, kills the
/// others (they cannot finish a step without it) and returns 1. A SIGINT or
/// SIGTERM to the launcher is passed on to the ranks (which run in their own
/// process group, so that Ctrl-C reaches them once, and die with the
/// launcher); ranks that stop on it after saving make it return 128 + the
/// signal.
int launchRanks(const std::vector<std::string> &argv,
                const LaunchOptions &options);

/// Set in every rank the launcher starts, so that the same command line
/// runs as a rank there instead of launching again.
inline constexpr const char *kLaunchedRankVariable = "ACCEL_LAUNCHED_RANK";

} // namespace accel::rt

#endif // ACCEL_RUNTIME_LAUNCH_H
