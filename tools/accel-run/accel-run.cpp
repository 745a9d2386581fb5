//===- accel-run.cpp - Run a model on the accel runtime -------------------===//
//
//   accel-run model.mlir|model.accx [--weights model.safetensors]
//       [--input NAME=x.npy]... [--output-dir DIR] [--threads N]
//       [--nproc-per-node N [--nnodes M --node-rank K]
//        [--master-addr HOST --master-port PORT]]
//
// A .mlir input is compiled in-process first; an .accx executable runs as it
// is. Each output is written to DIR/<output name>.npy.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/runtime/Checkpoint.h"
#include "accel/runtime/Communicator.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/Launch.h"
#include "accel/runtime/Generate.h"
#include "accel/runtime/Grid.h"
#include "accel/runtime/Npy.h"
#include "accel/runtime/Safetensors.h"
#include "accel/runtime/Trainer.h"
#include "backends/cpu/CpuKernels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <thread>

using namespace llvm;
namespace rt = accel::rt;

static cl::OptionCategory category("accel-run options");
static cl::opt<std::string> modelFile(cl::Positional,
                                      cl::desc("<model.mlir | model.accx>"),
                                      cl::cat(category));
static cl::opt<std::string> weightsFile(
    "weights",
    cl::desc("Safetensors weights (default: the model's path with "
             ".safetensors, if present)"),
    cl::value_desc("path"), cl::cat(category));
static cl::list<std::string> inputSpecs("input",
                                        cl::desc("An input: NAME=file.npy"),
                                        cl::value_desc("spec"),
                                        cl::cat(category));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where to write outputs"),
                                      cl::value_desc("dir"), cl::cat(category));
static cl::opt<std::string> functionName("function",
                                         cl::desc("Function to run"),
                                         cl::init(""), cl::cat(category));
static cl::opt<int> numThreads("num-threads",
                               cl::desc("Threads (default: all cores)"),
                               cl::init(0), cl::cat(category));
static cl::opt<int> repeat("repeat",
                           cl::desc("Run this many times (timing)"),
                           cl::init(1), cl::cat(category));
static cl::opt<int> warmup("warmup",
                           cl::desc("Untimed runs before the timed ones"),
                           cl::init(0), cl::cat(category));
static cl::opt<bool> profile("profile",
                             cl::desc("Print time per kernel on stderr"),
                             cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No summary on stderr"),
                           cl::cat(category));

static cl::OptionCategory trainCategory(
    "Training (runs train_step; see docs/user-guide.md)");
static cl::opt<int64_t> steps("steps",
                              cl::desc("Train up to this step count"),
                              cl::init(0), cl::cat(trainCategory));
static cl::opt<std::string> dataFile(
    "data", cl::desc("Training tokens: .bin (uint16, or --token-bits 32) or "
                     "integer .npy"),
    cl::value_desc("path"), cl::cat(trainCategory));
static cl::list<std::string> dataArrays(
    "data-array", cl::desc("Training examples for one input: NAME=file.npy"),
    cl::value_desc("spec"), cl::cat(trainCategory));
static cl::opt<std::string> evalFile("eval-data",
                                     cl::desc("Held-out tokens"),
                                     cl::value_desc("path"),
                                     cl::cat(trainCategory));
static cl::list<std::string> evalArrays(
    "eval-array", cl::desc("Held-out examples for one input: NAME=file.npy"),
    cl::value_desc("spec"), cl::cat(trainCategory));
static cl::opt<int> tokenBits("token-bits",
                              cl::desc("Width of .bin tokens: 16 or 32"),
                              cl::init(16), cl::cat(trainCategory));
static cl::opt<int64_t> batchSize(
    "batch-size", cl::desc("Check: the batch size the step was compiled for"),
    cl::init(0), cl::cat(trainCategory));
static cl::opt<int64_t> seqLen(
    "seq-len", cl::desc("Check: the sequence length the step was compiled for"),
    cl::init(0), cl::cat(trainCategory));
static cl::opt<uint64_t> seed("seed", cl::desc("Data shuffling seed"),
                              cl::init(0), cl::cat(trainCategory));
static cl::opt<bool> noShuffle("no-shuffle",
                               cl::desc("Take examples in file order"),
                               cl::cat(trainCategory));
static cl::opt<int64_t> evalEvery("eval-every",
                                  cl::desc("Evaluate every N steps"),
                                  cl::init(0), cl::cat(trainCategory));
static cl::opt<int64_t> evalBatches(
    "eval-batches", cl::desc("Batches per evaluation (0: all)"), cl::init(0),
    cl::cat(trainCategory));
static cl::opt<std::string> saveDir("save-dir",
                                    cl::desc("Where checkpoints go"),
                                    cl::value_desc("dir"),
                                    cl::cat(trainCategory));
static cl::alias saveAlias("save", cl::desc("Alias for --save-dir"),
                           cl::aliasopt(saveDir), cl::cat(trainCategory));
static cl::opt<int64_t> saveEvery(
    "save-every", cl::desc("Checkpoint every N steps (and at the end)"),
    cl::init(0), cl::cat(trainCategory));
static cl::opt<std::string> resumeFrom(
    "resume", cl::desc("Continue from a checkpoint (or the newest in a dir)"),
    cl::value_desc("dir"), cl::cat(trainCategory));
static cl::opt<bool> rankTiming(
    "rank-timing",
    cl::desc("Log every rank's step time and its time in collectives with "
             "each step (rank 0 writes them)"),
    cl::cat(trainCategory));
static cl::opt<std::string> consolidate(
    "consolidate",
    cl::desc("Write the checkpoint DIR (saved under any layout) with whole "
             "tensors to --save-dir, loadable by from_pretrained"),
    cl::value_desc("DIR"), cl::cat(trainCategory));
static cl::opt<std::string> logFile(
    "log-file", cl::desc("JSON lines, one per step (default: "
                         "<save-dir>/log.jsonl)"),
    cl::value_desc("path"), cl::cat(trainCategory));
static cl::opt<int64_t> logEvery("log-every",
                                 cl::desc("Progress line every N steps"),
                                 cl::init(10), cl::cat(trainCategory));

static cl::OptionCategory generateCategory("Generation (greedy decoding)");
static cl::opt<int64_t> generate(
    "generate", cl::desc("Append this many greedy tokens to --prompt and "
                         "print the text (byte-level tokens)"),
    cl::init(0), cl::cat(generateCategory));
static cl::opt<std::string> prompt("prompt",
                                   cl::desc("The prompt text; its bytes are "
                                            "the tokens"),
                                   cl::cat(generateCategory));

static cl::OptionCategory distCategory(
    "Distributed (one process per rank; see docs/architecture.md)");
static cl::opt<int> nprocPerNode(
    "nproc-per-node",
    cl::desc("Start this many ranks on this machine (0: run as one process, "
             "or as the rank torchrun / Slurm / mpirun started)"),
    cl::init(0), cl::cat(distCategory));
static cl::opt<int> nnodes("nnodes", cl::desc("Machines in the job"),
                           cl::init(1), cl::cat(distCategory));
static cl::opt<int> nodeRank("node-rank",
                             cl::desc("This machine's index in the job"),
                             cl::init(0), cl::cat(distCategory));
static cl::opt<std::string> masterAddr(
    "master-addr", cl::desc("Rank 0's host, where the ranks meet"),
    cl::init("127.0.0.1"), cl::cat(distCategory));
static cl::opt<int> masterPort("master-port",
                               cl::desc("The port rank 0 serves on (default "
                                        "29500; on one machine, a free one)"),
                               cl::init(29500), cl::cat(distCategory));
static cl::opt<int> commTimeout(
    "comm-timeout",
    cl::desc("Seconds a rank waits for its peers (connecting, each "
             "collective) before failing with their rank"),
    cl::init(60), cl::cat(distCategory));

static int fail(const std::string &message) {
  errs() << "accel-run: error: " << message << "\n";
  return 1;
}

/// Output names may hold '/' or ':' (ONNX value names); file names may not.
static std::string fileNameFor(const std::string &name) {
  std::string out = name;
  for (char &c : out)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.')
      c = '_';
  return out.empty() ? "output" : out;
}

static std::unique_ptr<rt::Executable> loadModel(const std::string &path) {
  if (!StringRef(path).ends_with(".mlir"))
    return rt::Executable::loadFile(path);
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      accel::parseMlirFile(path, context);
  std::vector<uint8_t> bytes;
  if (!module || failed(accel::compileToExecutable(*module, bytes)))
    throw rt::Error(path + ": compilation failed (see above)");
  return rt::Executable::fromBytes(std::move(bytes), path);
}

/// NAME=file.npy specs as a map; false (after reporting) on a bad one.
static bool parseArraySpecs(const std::vector<std::string> &specs,
                            const char *flag,
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

static int trainModel(const rt::Executable &exe, rt::ThreadPool &pool,
                      const std::string &weightsPath,
                      const rt::CommGroups &groups, bool lead) {
  rt::TrainerOptions o;
  o.groups = groups;
  o.lead = lead;
  o.steps = steps;
  o.batchSize = batchSize;
  o.seqLen = seqLen;
  o.weights = weightsPath;
  o.data = dataFile;
  o.evalData = evalFile;
  if (!parseArraySpecs(dataArrays, "--data-array", o.arrays) ||
      !parseArraySpecs(evalArrays, "--eval-array", o.evalArrays))
    return 1;
  o.tokenBits = tokenBits;
  o.seed = seed;
  o.shuffle = !noShuffle;
  o.evalEvery = evalEvery;
  o.evalBatches = evalBatches;
  o.saveDir = saveDir;
  o.saveEvery = saveEvery;
  o.resume = resumeFrom;
  o.logFile = logFile;
  o.logEvery = logEvery;
  o.quiet = quiet;
  o.profile = profile;
  o.rankTiming = rankTiming;
  rt::train(exe, pool, o);
  if (!quiet)
    errs() << formatv("accel-run: peak RSS {0:f1} MiB\n",
                      rt::peakResidentBytes() / 1048576.0);
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // A file-size limit then fails a write with EFBIG, reported like a full
  // disk, instead of killing the process mid-checkpoint.
  std::signal(SIGXFSZ, SIG_IGN);
  cl::HideUnrelatedOptions(
      {&category, &trainCategory, &generateCategory, &distCategory});
  cl::ParseCommandLineOptions(argc, argv, "accel runtime driver\n");
  try {
    if (!consolidate.empty()) {
      if (saveDir.empty())
        return fail("--consolidate needs --save-dir, where the whole "
                    "checkpoint goes");
      rt::consolidateCheckpoint(consolidate, saveDir);
      if (!quiet)
        errs() << "accel-run: wrote " << saveDir << "\n";
      return 0;
    }
    if (modelFile.empty())
      return fail("no model given: accel-run <model.mlir | model.accx> "
                  "[options] (see --help)");
    // The launcher re-runs this command line once per rank.
    if (nprocPerNode > 0 && !std::getenv(rt::kLaunchedRankVariable)) {
      rt::LaunchOptions launch;
      launch.procsPerNode = nprocPerNode;
      launch.nodes = nnodes;
      launch.nodeRank = nodeRank;
      launch.masterAddr = masterAddr;
      // One machine and no port given: a free one, as torchrun --standalone.
      launch.masterPort =
          nnodes == 1 && masterPort.getNumOccurrences() == 0 ? 0 : masterPort;
      return rt::launchRanks(std::vector<std::string>(argv, argv + argc),
                             launch);
    }
    rt::JobPlace place = rt::jobPlaceFromEnvironment();
    std::unique_ptr<rt::Communicator> world;
    rt::CommOptions c;
    if (place.size > 1) {
      c.rank = place.rank, c.size = place.size;
      c.masterAddr = place.masterAddr, c.masterPort = place.masterPort;
      c.timeout = std::chrono::seconds(commTimeout);
      world = rt::connectGloo(c);
    }
    // Rank 0 speaks for the job; the others report only their errors.
    bool lead = place.rank == 0;
    if (!lead)
      quiet = true;
    auto start = std::chrono::steady_clock::now();
    std::unique_ptr<rt::Executable> exe = loadModel(modelFile);
    const auto &function = steps > 0            ? exe->function("train_step")
                           : functionName.empty() ? exe->mainFunction()
                                                  : exe->function(functionName);
    // The communicator of each grid axis the function was split over
    // (every function of a sharded module shares one grid).
    rt::JobGroups job = rt::groupsFor(function, world.get(), c);
    const rt::CommGroups &groups = job.groups;
    if (world) {
      // The same executable, function and run on every rank.
      std::string run = functionName + "\n" + std::to_string(steps) + "\n" +
                        std::to_string(repeat);
      rt::requireSameOnAllRanks(*world, exe->fingerprint(run),
                                "executable or function");
    }

    std::string weightsPath = weightsFile;
    if (weightsPath.empty()) {
      SmallString<256> guess(modelFile);
      sys::path::replace_extension(guess, ".safetensors");
      if (sys::fs::exists(guess))
        weightsPath = std::string(guess);
    }
    std::unique_ptr<rt::SafetensorsFile> weights;
    if (!weightsPath.empty())
      weights = std::make_unique<rt::SafetensorsFile>(weightsPath);

    int threads = numThreads > 0 ? numThreads
                                 : std::max(1u, std::thread::hardware_concurrency());
    rt::ThreadPool pool(threads);
    rt::cpu::setBlasThreads(threads);
    if (steps > 0)
      return trainModel(*exe, pool, weightsPath, groups, lead);
    rt::Executor executor(*exe, function, weights.get(), pool, groups);
    if (generate > 0) {
      std::vector<int64_t> tokens(prompt.begin(), prompt.end());
      for (int64_t &t : tokens)
        t = static_cast<unsigned char>(t);
      tokens = rt::generateGreedy(executor, tokens, generate);
      std::string text;
      for (int64_t t : tokens)
        text.push_back(static_cast<char>(t));
      if (lead)
        outs() << text << "\n";
      return 0;
    }

    std::map<std::string, std::string> inputFiles;
    if (!parseArraySpecs(inputSpecs, "--input", inputFiles))
      return 1;
    std::vector<rt::NpyArray> arrays;
    arrays.reserve(inputFiles.size());
    std::map<std::string, rt::TensorView> inputs;
    for (const auto &[name, file] : inputFiles) {
      arrays.push_back(rt::readNpy(file));
      inputs[name] = arrays.back().view();
    }
    for (int i = 0; i < warmup; ++i)
      executor.run(inputs);
    executor.setProfiling(profile);
    auto loaded = std::chrono::steady_clock::now();
    std::vector<rt::TensorView> outputs;
    for (int i = 0; i < std::max(1, int(repeat)); ++i)
      outputs = executor.run(inputs);
    auto ran = std::chrono::steady_clock::now();

    if (!outputDir.empty() && lead) {
      if (std::error_code ec = sys::fs::create_directories(outputDir))
        return fail(outputDir + ": cannot create: " + ec.message());
      for (size_t i = 0; i < outputs.size(); ++i) {
        SmallString<256> path(outputDir);
        sys::path::append(path, fileNameFor(executor.outputNames()[i]) + ".npy");
        rt::writeNpy(std::string(path), outputs[i]);
      }
    }
    if (!quiet) {
      using ms = std::chrono::duration<double, std::milli>;
      errs() << formatv("accel-run: load{5} {0:f1} ms, run {1:f2} ms/iteration "
                        "({2} threads), arena {3:f1} MiB, peak RSS {4:f1} MiB\n",
                        ms(loaded - start).count(),
                        ms(ran - loaded).count() / std::max(1, int(repeat)),
                        threads, executor.arenaBytes() / 1048576.0,
                        rt::peakResidentBytes() / 1048576.0,
                        warmup > 0 ? " and warm-up" : "");
    }
    if (profile)
      errs() << rt::formatProfile(executor.profile(), std::max(1, int(repeat)));
  } catch (const std::exception &e) {
    // In a job, say which rank failed.
    const char *rank = std::getenv("RANK");
    return fail((rank && std::getenv("WORLD_SIZE") ? std::string("rank ") + rank + ": " : "") +
                e.what());
  }
  return 0;
}
