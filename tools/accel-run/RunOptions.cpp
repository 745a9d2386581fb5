//===- RunOptions.cpp - accel-run's command line
//----------------------------===//
#include "RunOptions.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace accel {
namespace {

/// An integer option's lower bound, said as "must be at least 1, not -5".
CLI::Validator atLeast(long long minimum) {
  return CLI::Validator(
      [minimum](std::string &text) -> std::string {
        size_t used = 0;
        long long value = 0;
        try {
          value = std::stoll(text, &used);
        } catch (const std::exception &) {
          return "is not an integer: '" + text + "'";
        }
        if (used != text.size())
          return "is not an integer: '" + text + "'";
        if (value < minimum)
          return "must be at least " + std::to_string(minimum) + ", not " +
                 text;
        return "";
      },
      ">= " + std::to_string(minimum));
}

} // namespace

bool parseRunOptions(int argc, char **argv, const std::string &tool,
                     RunOptions &o, int &exitCode) {
  CLI::App app{"accel runtime driver", tool};
  auto path = [&](const char *name, std::string &into, const char *what,
                  const char *group) {
    return app.add_option(name, into, what)->group(group);
  };
  // Each occurrence takes one NAME=file.npy.
  auto specs = [&](const char *name, std::vector<std::string> &into,
                   const char *what, const char *group) {
    return app.add_option(name, into, what)
        ->group(group)
        ->allow_extra_args(false);
  };
  const char *run = "Running";
  app.add_option("model", o.model, "<model.mlir | model.accx>");
  path("--weights", o.weights,
       "Safetensors weights (default: the model's path with .safetensors, if "
       "present)",
       run);
  app.add_option("--weights-dtype", o.weightsDtype,
                 "Store the parameters of a .mlir model in this type for "
                 "inference (bf16, fp16: its GEMMs run in it; "
                 "accel-store-weights)")
      ->group(run)
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  specs("--input", o.inputs, "An input: NAME=file.npy", run);
  path("--output-dir", o.outputDir, "Where to write outputs", run);
  path("--function", o.function, "Function to run", run);
  app.add_option("--num-threads", o.numThreads, "Threads (default: all cores)")
      ->group(run)
      ->check(CLI::Range(0, 1024));
  app.add_option("--repeat", o.repeat, "Run this many times (timing)")
      ->group(run)
      ->check(atLeast(1));
  app.add_option("--warmup", o.warmup, "Untimed runs before the timed ones")
      ->group(run)
      ->check(atLeast(0));
  app.add_flag("--profile", o.profile, "Print time per kernel on stderr")
      ->group(run);
  app.add_flag("--quiet", o.quiet, "No summary on stderr")->group(run);

  const char *train = "Training (runs train_step; see docs/user-guide.md)";
  app.add_option("--steps", o.steps, "Train up to this step count")
      ->group(train)
      ->check(atLeast(1));
  path("--data", o.data,
       "Training tokens: .bin (uint16, or --token-bits 32) or integer .npy",
       train);
  specs("--data-array", o.dataArrays,
        "Training examples for one input: NAME=file.npy", train);
  path("--eval-data", o.evalData, "Held-out tokens", train);
  specs("--eval-array", o.evalArrays,
        "Held-out examples for one input: NAME=file.npy", train);
  app.add_option("--token-bits", o.tokenBits, "Width of .bin tokens: 16 or 32")
      ->group(train);
  app.add_option("--batch-size", o.batchSize,
                 "Check: the batch size the step was compiled for")
      ->group(train);
  app.add_option("--seq-len", o.seqLen,
                 "Check: the sequence length the step was compiled for")
      ->group(train);
  app.add_option("--seed", o.seed, "Data shuffling seed")->group(train);
  app.add_flag("--no-shuffle", o.noShuffle, "Take examples in file order")
      ->group(train);
  app.add_option("--eval-every", o.evalEvery, "Evaluate every N steps")
      ->group(train);
  app.add_option("--eval-batches", o.evalBatches,
                 "Batches per evaluation (0: all)")
      ->group(train);
  path("--save-dir,--save", o.saveDir, "Where checkpoints go", train);
  app.add_option("--save-every", o.saveEvery,
                 "Checkpoint every N steps (and at the end)")
      ->group(train);
  app.add_flag("--overwrite", o.overwrite,
               "Start a new run in a --save-dir that holds another run's "
               "checkpoints and log, deleting them")
      ->group(train);
  path("--resume", o.resume,
       "Continue from a checkpoint (or the newest in a dir)", train);
  app.add_flag("--rank-timing", o.rankTiming,
               "Log every rank's step time and its time in collectives with "
               "each step (rank 0 writes them)")
      ->group(train);
  path("--consolidate", o.consolidate,
       "Write the checkpoint DIR (saved under any layout) with whole tensors "
       "to --save-dir, loadable by from_pretrained",
       train);
  path("--log-file", o.logFile,
       "JSON lines, one per step (default: <save-dir>/log.jsonl)", train);
  app.add_option("--log-every", o.logEvery, "Progress line every N steps")
      ->group(train);

  const char *generation = "Generation (greedy decoding)";
  app.add_option("--generate", o.generate,
                 "Append this many greedy tokens to --prompt and print the "
                 "text (byte-level tokens)")
      ->group(generation)
      ->check(atLeast(1));
  path("--prompt", o.prompt, "The prompt text; its bytes are the tokens",
       generation);

  const char *dist =
      "Distributed (one process per rank; see docs/architecture.md)";
  app.add_option("--nproc-per-node", o.nprocPerNode,
                 "Start this many ranks on this machine (0: run as one "
                 "process, or as the rank torchrun / Slurm / mpirun started)")
      ->group(dist);
  app.add_option("--nnodes", o.nnodes, "Machines in the job")->group(dist);
  app.add_option("--node-rank", o.nodeRank, "This machine's index in the job")
      ->group(dist);
  path("--master-addr", o.masterAddr, "Rank 0's host, where the ranks meet",
       dist);
  CLI::Option *port = app.add_option(
      "--master-port", o.masterPort,
      "The port rank 0 serves on (default 29500; on one machine, a free one)");
  port->group(dist);
  app.add_option("--comm-timeout", o.commTimeout,
                 "Seconds a rank waits for its peers (connecting, each "
                 "collective) before failing with their rank")
      ->group(dist);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    exitCode = app.exit(e);
    return false;
  } catch (const CLI::ParseError &e) {
    std::cerr << tool << ": error: " << e.what() << " (see --help)\n";
    exitCode = 2;
    return false;
  }
  o.masterPortGiven = port->count() > 0;
  return true;
}

} // namespace accel
