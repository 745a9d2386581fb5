//===- RunDriver.cpp - What accel-run and accel-node do
//---------------------===//
#include "RunDriver.h"
#include "RunOptions.h"

#include "accel/runtime/Checkpoint.h"
#include "accel/runtime/Communicator.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/Generate.h"
#include "accel/runtime/Grid.h"
#include "accel/runtime/Launch.h"
#include "accel/runtime/Npy.h"
#include "accel/runtime/Safetensors.h"
#include "accel/runtime/StopSignals.h"
#include "accel/runtime/Trainer.h"
#include "backends/cpu/CpuKernels.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

using namespace accel;
namespace rt = accel::rt;

namespace {

std::string mib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", bytes / 1048576.0);
  return text;
}

std::string toolName = "accel-run";

int fail(const std::string &message) {
  std::cerr << toolName << ": error: " << message << "\n";
  return 1;
}

/// Output names may hold '/' or ':' (ONNX value names); file names may not.
std::string fileNameFor(const std::string &name) {
  std::string out = name;
  for (char &c : out)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.')
      c = '_';
  return out.empty() ? "output" : out;
}

/// NAME=file.npy specs as a map; false (after reporting) on a bad one.
bool parseArraySpecs(const std::vector<std::string> &specs, const char *flag,
                     std::map<std::string, std::string> &out) {
  for (const std::string &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(std::string(flag) + " '" + spec + "' is not NAME=file.npy");
      return false;
    }
    out[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  return true;
}

int trainModel(const RunOptions &opts, const rt::Executable &exe,
               rt::ThreadPool &pool, const std::string &weightsPath,
               const rt::CommGroups &groups, bool lead) {
  rt::TrainerOptions o;
  o.groups = groups;
  o.lead = lead;
  o.steps = opts.steps;
  o.batchSize = opts.batchSize;
  o.seqLen = opts.seqLen;
  o.weights = weightsPath;
  o.data = opts.data;
  o.evalData = opts.evalData;
  if (!parseArraySpecs(opts.dataArrays, "--data-array", o.arrays) ||
      !parseArraySpecs(opts.evalArrays, "--eval-array", o.evalArrays))
    return 1;
  o.tokenBits = opts.tokenBits;
  o.seed = opts.seed;
  o.shuffle = !opts.noShuffle;
  o.evalEvery = opts.evalEvery;
  o.evalBatches = opts.evalBatches;
  o.saveDir = opts.saveDir;
  o.saveEvery = opts.saveEvery;
  o.resume = opts.resume;
  o.overwrite = opts.overwrite;
  o.logFile = opts.logFile;
  o.logEvery = opts.logEvery;
  o.quiet = opts.quiet;
  o.profile = opts.profile;
  o.rankTiming = opts.rankTiming;
  rt::train(exe, pool, o);
  if (!opts.quiet)
    std::cerr << toolName << ": peak RSS " << mib(rt::peakResidentBytes())
              << " MiB\n";
  return 0;
}

} // namespace

int accel::runDriver(int argc, char **argv, const std::string &tool,
                     const ModelLoader &loadModel) {
  toolName = tool;
  // A file-size limit then fails a write with EFBIG, reported like a full
  // disk, instead of killing the process mid-checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);
  RunOptions opts;
  int exitCode = 0;
  if (!parseRunOptions(argc, argv, tool, opts, exitCode))
    return exitCode;
  try {
    if (!opts.consolidate.empty()) {
      if (opts.saveDir.empty())
        return fail("--consolidate needs --save-dir, where the whole "
                    "checkpoint goes");
      rt::consolidateCheckpoint(opts.consolidate, opts.saveDir);
      if (!opts.quiet)
        std::cerr << tool << ": wrote " << opts.saveDir << "\n";
      return 0;
    }
    if (opts.model.empty())
      return fail("no model given: " + tool +
                  " <model.mlir | model.accx> "
                  "[options] (see --help)");
    // The launcher re-runs this command line once per rank.
    if (opts.nprocPerNode > 0 && !std::getenv(rt::kLaunchedRankVariable)) {
      rt::LaunchOptions launch;
      launch.procsPerNode = opts.nprocPerNode;
      launch.nodes = opts.nnodes;
      launch.nodeRank = opts.nodeRank;
      launch.masterAddr = opts.masterAddr;
      // One machine and no port given: a free one, as torchrun --standalone.
      launch.masterPort =
          opts.nnodes == 1 && !opts.masterPortGiven ? 0 : opts.masterPort;
      return rt::launchRanks(std::vector<std::string>(argv, argv + argc),
                             launch);
    }
    rt::JobPlace place = rt::jobPlaceFromEnvironment();
    std::unique_ptr<rt::Communicator> world;
    rt::CommOptions c;
    if (place.size > 1) {
      c.rank = place.rank, c.size = place.size;
      c.masterAddr = place.masterAddr, c.masterPort = place.masterPort;
      c.timeout = std::chrono::seconds(opts.commTimeout);
      world = rt::connectGloo(c);
    }
    // Rank 0 speaks for the job; the others report only their errors.
    bool lead = place.rank == 0;
    if (!lead)
      opts.quiet = true;
    auto start = std::chrono::steady_clock::now();
    std::unique_ptr<rt::Executable> exe =
        loadModel(opts.model, opts.weightsDtype);
    const auto &function = opts.steps > 0 ? exe->function("train_step")
                           : opts.function.empty()
                               ? exe->mainFunction()
                               : exe->function(opts.function);
    // The communicator of each grid axis the function was split over
    // (every function of a sharded module shares one grid).
    rt::JobGroups job = rt::groupsFor(function, world.get(), c);
    const rt::CommGroups &groups = job.groups;
    if (world) {
      // The same executable, function and run on every rank.
      std::string run = opts.function + "\n" + std::to_string(opts.steps) +
                        "\n" + std::to_string(opts.repeat);
      rt::requireSameOnAllRanks(*world, exe->fingerprint(run),
                                "executable or function");
    }

    std::string weightsPath = opts.weights;
    if (weightsPath.empty()) {
      std::filesystem::path guess(opts.model);
      guess.replace_extension(".safetensors");
      if (std::filesystem::exists(guess))
        weightsPath = guess.string();
    }
    // Nothing this run writes may be a file it reads.
    std::vector<std::pair<std::string, std::string>> read = {
        {"model", opts.model},
        {"--weights", weightsPath},
        {"--data", opts.data},
        {"--eval-data", opts.evalData}};
    for (const auto &[flag, specs] :
         {std::pair<const char *, const std::vector<std::string> *>{
              "--input", &opts.inputs},
          {"--data-array", &opts.dataArrays},
          {"--eval-array", &opts.evalArrays}})
      for (const std::string &spec : *specs)
        if (size_t eq = spec.find('='); eq != std::string::npos)
          read.push_back({flag, spec.substr(eq + 1)});
    rt::refuseInputsAsOutputs({{"--log-file", opts.logFile}}, read);
    std::unique_ptr<rt::SafetensorsFile> weights;
    if (!weightsPath.empty())
      weights = std::make_unique<rt::SafetensorsFile>(weightsPath);

    int threads = opts.numThreads > 0
                      ? opts.numThreads
                      : std::max(1u, std::thread::hardware_concurrency());
    rt::ThreadPool pool(threads);
    rt::cpu::setBlasThreads(threads);
    if (opts.steps > 0)
      return trainModel(opts, *exe, pool, weightsPath, groups, lead);
    rt::Executor executor(*exe, function, weights.get(), pool, groups);
    if (opts.generate > 0) {
      std::vector<int64_t> tokens(opts.prompt.begin(), opts.prompt.end());
      for (int64_t &t : tokens)
        t = static_cast<unsigned char>(t);
      tokens = rt::generateGreedy(executor, tokens, opts.generate);
      std::string text;
      for (int64_t t : tokens)
        text.push_back(static_cast<char>(t));
      if (lead)
        std::cout << text << "\n";
      return 0;
    }

    std::map<std::string, std::string> inputFiles;
    if (!parseArraySpecs(opts.inputs, "--input", inputFiles))
      return 1;
    std::vector<rt::NpyArray> arrays;
    arrays.reserve(inputFiles.size());
    std::map<std::string, rt::TensorView> inputs;
    for (const auto &[name, file] : inputFiles) {
      arrays.push_back(rt::readNpy(file));
      inputs[name] = arrays.back().view();
    }
    for (int i = 0; i < opts.warmup; ++i)
      executor.run(inputs);
    executor.setProfiling(opts.profile);
    auto loaded = std::chrono::steady_clock::now();
    std::vector<rt::TensorView> outputs;
    for (int i = 0; i < std::max(1, opts.repeat); ++i)
      outputs = executor.run(inputs);
    auto ran = std::chrono::steady_clock::now();

    if (!opts.outputDir.empty() && lead) {
      std::error_code ec;
      std::filesystem::create_directories(opts.outputDir, ec);
      if (ec)
        return fail(opts.outputDir + ": cannot create: " + ec.message());
      std::vector<std::pair<std::string, std::string>> written;
      for (size_t i = 0; i < outputs.size(); ++i)
        written.push_back(
            {"--output-dir", (std::filesystem::path(opts.outputDir) /
                              (fileNameFor(executor.outputNames()[i]) + ".npy"))
                                 .string()});
      rt::refuseInputsAsOutputs(written, read);
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (outputs[i].dtype != rt::DType::BF16) {
          rt::writeNpy(written[i].second, outputs[i]);
          continue;
        }
        // .npy has no bf16 (NumPy lacks the type): float32 holds every
        // bf16 value exactly.
        std::vector<float> wide(static_cast<size_t>(outputs[i].numel()));
        rt::TensorView wideView{wide.data(), rt::DType::F32, outputs[i].shape};
        rt::cpu::cast(outputs[i], wideView, pool);
        rt::writeNpy(written[i].second, wideView);
        if (!opts.quiet)
          std::cerr << tool << ": " << written[i].second
                    << ": bf16 output written as float32 (exactly)\n";
      }
    }
    if (!opts.quiet) {
      using ms = std::chrono::duration<double, std::milli>;
      char line[256];
      std::snprintf(line, sizeof line,
                    "%s: load%s %.1f ms, run %.2f ms/iteration (%d threads), "
                    "arena %.1f MiB, peak RSS %.1f MiB\n",
                    tool.c_str(), opts.warmup > 0 ? " and warm-up" : "",
                    ms(loaded - start).count(),
                    ms(ran - loaded).count() / std::max(1, opts.repeat),
                    threads, executor.arenaBytes() / 1048576.0,
                    rt::peakResidentBytes() / 1048576.0);
      std::cerr << line;
    }
    if (opts.profile)
      std::cerr << rt::formatProfile(executor.profile(),
                                     std::max(1, opts.repeat));
  } catch (const rt::StoppedBySignal &stopped) {
    const char *rank = std::getenv("RANK");
    if (!rank || std::string(rank) == "0")
      std::cerr << toolName << ": " << stopped.what() << "\n";
    return 128 + stopped.signal;
  } catch (const std::exception &e) {
    // In a job, say which rank failed.
    const char *rank = std::getenv("RANK");
    return fail((rank && std::getenv("WORLD_SIZE")
                     ? std::string("rank ") + rank + ": "
                     : "") +
                e.what());
  }
  return 0;
}
