//===- RunOptions.h - accel-run's command line --------------------*- C++
//-*-===//
//
// The options of accel-run and accel-node, parsed with CLI11 (no LLVM: the
// runtime binary links none).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_TOOLS_ACCEL_RUN_RUNOPTIONS_H
#define ACCEL_TOOLS_ACCEL_RUN_RUNOPTIONS_H

#include <cstdint>
#include <string>
#include <vector>

namespace accel {

struct RunOptions {
  std::string model, weights, outputDir, function;
  std::string weightsDtype = "fp32";
  std::vector<std::string> inputs;
  int numThreads = 0, repeat = 1, warmup = 0;
  bool profile = false, quiet = false;

  // Training.
  int64_t steps = 0, batchSize = 0, seqLen = 0, evalEvery = 0, evalBatches = 0,
          saveEvery = 0, logEvery = 10;
  std::string data, evalData, saveDir, resume, consolidate, logFile;
  std::vector<std::string> dataArrays, evalArrays;
  int tokenBits = 16;
  uint64_t seed = 0;
  bool noShuffle = false, rankTiming = false, overwrite = false;

  // Generation.
  int64_t generate = 0;
  std::string prompt;

  // Distributed.
  int nprocPerNode = 0, nnodes = 1, nodeRank = 0, masterPort = 29500,
      commTimeout = 60;
  bool masterPortGiven = false;
  std::string masterAddr = "127.0.0.1";
};

/// Parses `argv` for `tool`; on --help prints it and sets `exitCode` to 0,
/// on a bad option prints why and sets it to non-zero; returns whether to
/// go on.
bool parseRunOptions(int argc, char **argv, const std::string &tool,
                     RunOptions &options, int &exitCode);

} // namespace accel

#endif // ACCEL_TOOLS_ACCEL_RUN_RUNOPTIONS_H
