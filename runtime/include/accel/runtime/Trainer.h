//===- Trainer.h - The training loop ----------------------------*- C++ -*-===//
//
// Runs an executable's train_step for many steps: draws batches from a
// dataset, feeds the step number, keeps parameters and optimizer state in a
// TrainingState (updated in place by the step), evaluates eval_step on
// held-out data, logs every step as JSON lines, and saves and resumes
// checkpoints. Resuming at step k reaches bitwise the parameters of an
// uninterrupted run (same thread count): everything that decides a step is
// in the checkpoint.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_TRAINER_H
#define ACCEL_RUNTIME_TRAINER_H

#include "accel/runtime/Executable.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/ThreadPool.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace accel::rt {

struct TrainerOptions {
  int64_t steps = 0;           // the step count to reach
  int64_t batchSize = 0;       // 0: as compiled; else must match (global)
  int64_t seqLen = 0;          // 0: as compiled; else must match
  std::string weights;         // initial parameters (unless resuming)
  std::string data;            // token file, or
  std::map<std::string, std::string> arrays; // input name -> .npy
  std::string evalData;
  std::map<std::string, std::string> evalArrays;
  int tokenBits = 16;          // .bin token width
  uint64_t seed = 0;
  bool shuffle = true;
  int64_t evalEvery = 0, evalBatches = 0; // 0 batches: the whole eval set
  std::string saveDir;
  int64_t saveEvery = 0;       // 0: only at the end (when saveDir is set)
  std::string resume;          // a checkpoint dir, or a save dir
  /// Start a new run in a save dir holding another run's checkpoints and
  /// log, removing them (without it, that is an error).
  bool overwrite = false;
  std::string logFile;         // JSON lines; default <saveDir>/log.jsonl
  int64_t logEvery = 10;       // progress lines on the terminal
  bool quiet = false;
  bool profile = false;        // time per kernel of train_step, at the end
  /// Each step's log record also gives every rank's step time and the part
  /// of it spent in collectives ("rank_step_seconds",
  /// "rank_collective_seconds"), gathered to rank 0 after the step.
  bool rankTiming = false;
  /// The communicators of a step compiled for a grid (by axis name: "dp").
  /// Under data parallelism each dp rank takes its block of every global
  /// batch; only the lead rank writes logs and checkpoints.
  CommGroups groups;
  bool lead = true;
};

/// Trains; returns normally after `steps` steps. Throws Error with one clear
/// message for any problem with the data, a checkpoint or the step (a
/// non-finite loss or gradient norm names the step, whose update is not
/// applied), and StoppedBySignal after stopping on SIGINT or SIGTERM (the
/// step done saved when there is a save dir).
void train(const Executable &executable, ThreadPool &pool,
           const TrainerOptions &options);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_TRAINER_H
