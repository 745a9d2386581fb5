//===- Trainer.cpp - The training loop ------------------------------------===//
#include "accel/runtime/Trainer.h"
#include "accel/runtime/Checkpoint.h"
#include "accel/runtime/Communicator.h"
#include "accel/runtime/Dataset.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/GradientMemory.h"
#include "accel/runtime/Grid.h"
#include "accel/runtime/StopSignals.h"
#include "accel/runtime/schema/executable_generated.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace accel::rt {

namespace {

using Clock = std::chrono::steady_clock;

const fb::Function *findFunction(const Executable &exe, const char *name) {
  for (const fb::Function *f : *exe.root().functions())
    if (f->name() && f->name()->str() == name)
      return f;
  return nullptr;
}

std::string number(double v) {
  if (std::isnan(v))
    return "NaN"; // JSON has no NaN; Python's json module reads this
  if (std::isinf(v))
    return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string duration(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
                  s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

/// Owned storage for one batch of every data input.
struct Batch {
  std::map<std::string, std::vector<uint8_t>> storage;
  std::map<std::string, TensorView> views;

  void add(const Executor::InputSpec &spec) {
    auto &bytes = storage[spec.name];
    bytes.assign(static_cast<size_t>(numElements(spec.shape)) *
                     dtypeSize(spec.dtype),
                 0);
    views[spec.name] = {bytes.data(), spec.dtype, spec.shape};
  }
};

/// Keeps the records of steps up to `step` in the JSON-lines log at `path`:
/// a run that resumes at `step` logs the later ones again.
void dropLogRecordsAfter(const std::string &path, int64_t step) {
  // A pipe or terminal (--log-file /dev/stdout) has no records to keep.
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return;
  std::ifstream in(path);
  if (!in)
    return;
  std::string kept, line;
  const std::string key = "{\"step\": ";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0 &&
        std::strtoll(line.c_str() + key.size(), nullptr, 10) > step)
      continue;
    kept += line + "\n";
  }
  in.close();
  // Replaced whole or not at all: a full disk keeps the old log.
  try {
    writeFileAtomically(path, {{kept.data(), kept.size()}});
  } catch (const FormatError &e) {
    throw Error(e.what());
  }
}

class Loop {
public:
  ~Loop() {
    if (lockFd >= 0)
      ::close(lockFd);
  }

  Loop(const Executable &exe, ThreadPool &pool, const TrainerOptions &o)
      : exe(exe), pool(pool), o(o) {}

  void run() {
    const fb::Function *stepFn = findFunction(exe, "train_step");
    if (!stepFn)
      throw Error(exe.origin() + ": has no train_step function (build one "
                  "with accel-opt --accel-make-train-step)");
    evalFn = findFunction(exe, "eval_step");
    std::vector<StateSpec> specs = Executor::stateSpecs(*stepFn);
    if (evalFn) {
      std::vector<StateSpec> more = Executor::stateSpecs(*evalFn);
      specs.insert(specs.end(), more.begin(), more.end());
    }
    // This rank's place on each axis, for the blocks of split state.
    Placement placement;
    for (const auto &[axis, comm] : o.groups)
      if (comm)
        placement[axis] = {comm->rank(), comm->size()};
    state = std::make_unique<TrainingState>(specs, placement);
    // Training and evaluation never run at once: one arena serves both.
    int64_t arenaBytes = stepFn->arena_size();
    if (evalFn)
      arenaBytes = std::max(arenaBytes, evalFn->arena_size());
    arena = allocateBuffer(hostAllocator(), arenaBytes,
                           "the arena of the training step");
    step = std::make_unique<Executor>(exe, *stepFn, state->binder(), pool,
                                      arena.get(), o.groups);
    joinDataParallelGroup(*stepFn);
    numClasses = metadataInt(*stepFn, "num_classes",
                             std::numeric_limits<int64_t>::max());
    // The model's Hugging Face config, when the import had one: each
    // checkpoint then loads with from_pretrained as it is.
    std::string hfConfig = metadataString(*stepFn, "hf_config");
    if (!hfConfig.empty())
      checkpointFiles["config.json"] = hfConfig;
    setUpInputs();
    train = openDataset(o.data, o.arrays, "training");
    if (!o.evalData.empty() || !o.evalArrays.empty()) {
      if (!evalFn)
        throw Error(exe.origin() + ": has no eval_step function to evaluate "
                    "with");
      evaluator = std::make_unique<Executor>(exe, *evalFn, state->binder(),
                                             pool, arena.get(), o.groups);
      eval = openDataset(o.evalData, o.evalArrays, "evaluation");
    }
    sampler = std::make_unique<EpochSampler>(train->size(), globalBatch,
                                             o.seed, o.shuffle);
    if (!o.saveDir.empty() && o.lead)
      claimSaveDir();
    startStep = restore();
    if (startStep >= o.steps)
      throw Error(resumedFrom + ": is at step " + std::to_string(startStep) +
                  ", not before --steps " + std::to_string(o.steps) +
                  ": nothing to train (raise --steps)");
    if (!o.saveDir.empty() && o.lead)
      removeStaleCheckpointTemporaries(o.saveDir);
    openLog();
    logMemory();
    loop();
  }

private:
  /// A step compiled for a grid splits each global batch over its dp axis:
  /// this rank takes block dpRank of dpSize.
  void joinDataParallelGroup(const fb::Function &fn) {
    dpSize = gridOf(fn).axisSize("dp");
    if (dpSize == 1)
      return;
    auto it = o.groups.find("dp");
    if (it == o.groups.end() || it->second->size() != dpSize)
      throw Error(exe.origin() + ": train_step is compiled for " +
                  std::to_string(dpSize) + " data-parallel ranks; launch it "
                  "on " + std::to_string(dpSize) + " (accel-run "
                  "--nproc-per-node " + std::to_string(dpSize) + ")");
    dpRank = it->second->rank();
  }

  /// Bytes this rank has sent on all its communicators so far.
  int64_t bytesSent() const {
    std::set<Communicator *> distinct;
    for (const auto &[name, comm] : o.groups)
      if (comm)
        distinct.insert(comm);
    int64_t total = 0;
    for (Communicator *comm : distinct)
      total += comm->bytesSent();
    return total;
  }

  /// Seconds this rank's step has spent in collectives so far (kernels
  /// that communicate or wait for communication, not all_slice's local
  /// copy; from the profile).
  double collectiveSeconds() const {
    double total = 0;
    for (const auto &[kernel, time] : step->profile())
      if (kernel == "wait" || kernel.rfind("reduce_scatter", 0) == 0 ||
          (kernel.rfind("all_", 0) == 0 && kernel != "all_slice"))
        total += time.first;
    return total;
  }

  /// Every rank's step and collective seconds, as log fields (gathered
  /// to every rank; rank 0 writes them).
  std::string rankTiming(double seconds, double collective) {
    std::vector<double> all = {seconds, collective};
    if (auto it = o.groups.find("world"); it != o.groups.end() && it->second) {
      Communicator &world = *it->second;
      double mine[2] = {seconds, collective};
      all.assign(2 * world.size(), 0.0);
      world
          .allGather({mine, DType::F64, {2}},
                     {all.data(), DType::F64, {2 * world.size()}})
          ->wait();
    }
    std::string steps, collectives;
    for (size_t r = 0; r < all.size() / 2; ++r) {
      steps += (r ? ", " : "") + number(all[2 * r]);
      collectives += (r ? ", " : "") + number(all[2 * r + 1]);
    }
    return ", \"rank_step_seconds\": [" + steps +
           "], \"rank_collective_seconds\": [" + collectives + "]";
  }

  /// This rank's examples of a global batch.
  std::vector<int64_t> ownBlock(const std::vector<int64_t> &global) const {
    return std::vector<int64_t>(global.begin() + dpRank * batchSize,
                                global.begin() + (dpRank + 1) * batchSize);
  }

  void setUpInputs() {
    bool hasStep = false, hasLabels = false;
    for (const Executor::InputSpec &spec : step->inputs()) {
      if (spec.name == "step") {
        hasStep = spec.dtype == DType::I64 && spec.shape.empty();
        continue;
      }
      if (spec.shape.empty())
        throw Error("train_step input '" + spec.name +
                    "' is a scalar; the loader fills batches only");
      hasLabels |= spec.name == "labels";
      if (batchSize && spec.shape[0] != batchSize)
        throw Error("train_step input '" + spec.name + "' " +
                    shapeToString(spec.shape) +
                    " does not lead with the batch size " +
                    std::to_string(batchSize) + " of the other inputs");
      batch.add(spec);
      batchSize = spec.shape[0];
    }
    if (!hasStep || !hasLabels)
      throw Error(exe.origin() + ": train_step needs an int64 scalar 'step' "
                  "and a 'labels' input (as accel-make-train-step builds it)");
    globalBatch = batchSize * dpSize;
    if (o.batchSize && o.batchSize != globalBatch)
      throw Error("--batch-size " + std::to_string(o.batchSize) +
                  " differs from the batch size the step was compiled for (" +
                  std::to_string(globalBatch) + "); export the model with "
                  "that batch size");
    const TensorView &labels = batch.views["labels"];
    int64_t compiledSeq = labels.rank() >= 2 ? labels.shape[1] : 0;
    if (o.seqLen && o.seqLen != compiledSeq)
      throw Error("--seq-len " + std::to_string(o.seqLen) +
                  " differs from the sequence length the step was compiled "
                  "for (" + std::to_string(compiledSeq) + ")");
  }

  std::unique_ptr<Dataset>
  openDataset(const std::string &tokens,
              const std::map<std::string, std::string> &arrays,
              const char *what) {
    std::unique_ptr<Dataset> data;
    std::string source = tokens;
    try {
      if (!tokens.empty()) {
        std::vector<std::string> tokenInputs;
        for (const auto &[name, view] : batch.views)
          if (name != "labels")
            tokenInputs.push_back(name);
        const TensorView &labels = batch.views.at("labels");
        if (tokenInputs.size() != 1 || labels.rank() != 2 ||
            labels.dtype != DType::I64)
          throw Error("a token file feeds a step with one token input and "
                      "[batch, seq] int64 labels; use --data-array for this "
                      "model's inputs");
        data = std::make_unique<TokenDataset>(tokens, o.tokenBits,
                                              labels.shape[1],
                                              tokenInputs.front(), numClasses);
      } else {
        if (arrays.empty())
          throw Error(std::string("no ") + what +
                      " data: give --data tokens.bin or --data-array "
                      "NAME=file.npy for each input");
        data = std::make_unique<ArrayDataset>(arrays);
        source = arrays.begin()->second;
      }
    } catch (const FormatError &e) {
      throw Error(e.what());
    }
    // The dataset must fill exactly the step's data inputs.
    auto provided = data->provides();
    for (const auto &[name, view] : batch.views) {
      auto it = provided.find(name);
      if (it == provided.end())
        throw Error(std::string("the ") + what + " data gives no input '" +
                    name + "'");
      Shape perExample(view.shape.begin() + 1, view.shape.end());
      if (it->second.first != view.dtype || it->second.second != perExample)
        throw Error(std::string("the ") + what + " data's '" + name +
                    "' examples are " + dtypeName(it->second.first) + " " +
                    shapeToString(it->second.second) + ", the step takes " +
                    dtypeName(view.dtype) + " " + shapeToString(perExample));
    }
    for (const auto &[name, spec] : provided)
      if (!batch.views.count(name))
        throw Error(std::string("the ") + what + " data gives '" + name +
                    "', which the step does not take");
    if (data->size() < globalBatch)
      throw Error(source + ": holds " + std::to_string(data->size()) + " " +
                  (data->unitsPerExample() > 1 ? "windows of " +
                       std::to_string(data->unitsPerExample() + 1) + " tokens"
                                               : "examples") +
                  ", fewer than one batch of " + std::to_string(globalBatch));
    return data;
  }

  /// The save dir is this run's alone: locked against a second run
  /// writing it at the same time, and not holding another run's
  /// checkpoints or log unless this run resumes from it or was told to
  /// overwrite (a new run would otherwise replace some of the old
  /// checkpoints, and a later --resume continue the old run).
  void claimSaveDir() {
    fs::path dir(o.saveDir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      throw Error(o.saveDir + ": cannot create: " + ec.message());
    std::string lockPath = (dir / ".lock").string();
    lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lockFd < 0)
      throw Error(lockPath + ": cannot open: " + std::strerror(errno));
    if (::flock(lockFd, LOCK_EX | LOCK_NB) != 0) {
      char holder[32] = {};
      ssize_t n = ::pread(lockFd, holder, sizeof holder - 1, 0);
      throw Error(o.saveDir + ": another run" +
                  (n > 0 ? " (pid " + std::string(holder, n) + ")" : "") +
                  " is writing here; give each run its own --save-dir");
    }
    std::string pid = std::to_string(::getpid());
    if (::ftruncate(lockFd, 0) != 0 ||
        ::pwrite(lockFd, pid.data(), pid.size(), 0) !=
            static_cast<ssize_t>(pid.size()))
      throw Error(lockPath + ": cannot write: " + std::strerror(errno));

    std::vector<fs::path> previous;
    for (const auto &entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("checkpoint-", 0) == 0 || name == "log.jsonl")
        previous.push_back(entry.path());
    }
    if (previous.empty())
      return;
    bool resumesHere = false;
    if (!o.resume.empty()) {
      fs::path from = fs::weakly_canonical(o.resume, ec);
      fs::path here = fs::weakly_canonical(dir, ec);
      resumesHere = from == here || from.parent_path() == here;
    }
    if (resumesHere)
      return;
    if (!o.overwrite)
      throw Error(o.saveDir + ": holds another run (" +
                  previous.front().filename().string() +
                  (previous.size() > 1 ? ", ..." : "") +
                  "); continue it with --resume " + o.saveDir +
                  ", start over with --overwrite, or choose another "
                  "--save-dir");
    for (const fs::path &old : previous)
      fs::remove_all(old, ec);
  }

  int64_t restore() {
    if (o.resume.empty()) {
      if (o.weights.empty()) {
        if (!state->tensors(false).empty())
          throw Error("the model's parameters need initial values: give "
                      "--weights (or --resume a checkpoint)");
      } else {
        try {
          state->loadParameters(SafetensorsFile(o.weights));
        } catch (const FormatError &e) {
          throw Error(e.what());
        }
      }
      return 0;
    }
    std::string dir = o.resume;
    if (!fs::exists(fs::path(dir) / "trainer_state.json")) {
      std::string latest = latestCheckpoint(dir);
      if (latest.empty())
        throw Error(dir + ": no checkpoint to resume from");
      dir = latest;
    }
    std::map<std::string, std::string> fields = loadCheckpoint(dir, *state);
    const std::string file = dir + "/trainer_state.json";
    // Every field is a non-negative integer; the seed may use all 64 bits.
    auto field = [&](const char *key) -> uint64_t {
      auto it = fields.find(key);
      if (it == fields.end())
        throw Error(file + ": has no \"" + key + "\"");
      const std::string &text = it->second;
      size_t used = 0;
      uint64_t value = 0;
      if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
        try {
          value = std::stoull(text, &used);
        } catch (const std::exception &) {
          used = 0;
        }
      }
      if (used == 0 || used != text.size())
        throw Error(file + ": \"" + key + "\" is not a valid value: " + text);
      return value;
    };
    auto count = [&](const char *key) {
      uint64_t v = field(key);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(file + ": \"" + key + "\" is out of range");
      return static_cast<int64_t>(v);
    };
    // What this reader writes; another format is not guessed at.
    auto format = fields.find("format");
    std::string formatName =
        format == fields.end() ? "" : format->second;
    if (formatName.size() >= 2 && formatName.front() == '"')
      formatName = formatName.substr(1, formatName.size() - 2);
    if (formatName != "accel-checkpoint-1")
      throw Error(file + ": format " +
                  (formatName.empty() ? "missing" : "'" + formatName + "'") +
                  "; this accel reads accel-checkpoint-1");
    // A step or epoch no run reaches is a damaged file, not a position.
    constexpr int64_t kMaxCount = int64_t(1) << 40;
    for (const char *key : {"step", "epoch"})
      if (count(key) > kMaxCount)
        throw Error(file + ": \"" + key + "\" " + std::to_string(count(key)) +
                    " is beyond any run (at most 2^40)");
    if (count("batch_size") != globalBatch)
      throw Error(dir + ": was saved with batch size " +
                  std::to_string(count("batch_size")) + ", this step uses " +
                  std::to_string(globalBatch));
    if (count("num_examples") != train->size())
      throw Error(dir + ": was saved while training on " +
                  std::to_string(count("num_examples")) +
                  " examples; this data has " + std::to_string(train->size()) +
                  ", so the data position cannot be restored");
    if (count("cursor") > train->size())
      throw Error(file + ": cursor " + std::to_string(count("cursor")) +
                  " lies beyond the " + std::to_string(train->size()) +
                  " examples");
    // The data order is the checkpoint's, whatever --seed says now.
    sampler = std::make_unique<EpochSampler>(train->size(), globalBatch,
                                             field("seed"),
                                             count("shuffle") != 0);
    sampler->seek(count("epoch"), count("cursor"));
    resumedFrom = dir;
    return count("step");
  }

  /// What this rank holds across steps, the most gradient bytes its
  /// step's plan holds at once (in the arena), and the arena, as the first
  /// log record: the memory of a layout.
  void logMemory() {
    writeLog("{\"memory_per_rank\": {\"parameters\": " +
             std::to_string(state->bytes(false)) +
             ", \"optimizer_state\": " + std::to_string(state->bytes(true)) +
             ", \"gradients\": " +
             std::to_string(peakGradientBytes(*findFunction(exe, "train_step"))) +
             ", \"arena\": " +
             std::to_string(std::max(step->arenaBytes(),
                                     evaluator ? evaluator->arenaBytes() : 0)) +
             "}}");
  }

  void openLog() {
    std::string path = o.logFile;
    if (path.empty() && !o.saveDir.empty())
      path = (fs::path(o.saveDir) / "log.jsonl").string();
    if (path.empty() || !o.lead)
      return;
    if (fs::path(path).has_parent_path())
      fs::create_directories(fs::path(path).parent_path());
    if (startStep > 0)
      dropLogRecordsAfter(path, startStep);
    logPath = path;
    errno = 0;
    log.open(path, startStep > 0 ? std::ios::app : std::ios::trunc);
    if (!log)
      throw Error(path + ": cannot write the log" +
                  (errno ? std::string(": ") + std::strerror(errno) : ""));
  }

  /// Every record reaches the file or the run stops: a log that silently
  /// ends (a full disk) would pass for a run that did.
  void writeLog(const std::string &line) {
    if (!log.is_open())
      return;
    errno = 0;
    log << line << "\n";
    log.flush();
    if (!log)
      throw Error(logPath + ": cannot write the log" +
                  (errno ? std::string(": ") + std::strerror(errno) : ""));
  }

  /// The mean eval_step loss over the evaluation set, in batches of
  /// eval_step's own size (a step that accumulates micro-batches takes a
  /// multiple of it).
  double evaluate() {
    Batch evalBatch;
    int64_t evalSize = 0;
    for (const Executor::InputSpec &spec : evaluator->inputs()) {
      if (spec.shape.empty() || spec.shape[0] <= 0 ||
          (evalSize && spec.shape[0] != evalSize) ||
          batchSize % spec.shape[0] != 0)
        throw Error("eval_step input '" + spec.name + "' " +
                    shapeToString(spec.shape) +
                    " does not lead with a batch size that divides the "
                    "step's " + std::to_string(batchSize));
      evalSize = spec.shape[0];
      evalBatch.add(spec);
    }
    int64_t evalGlobal = evalSize * dpSize;
    int64_t available = eval->size() / evalGlobal;
    int64_t batches = o.evalBatches > 0 ? std::min(o.evalBatches, available)
                                        : available;
    double total = 0;
    for (int64_t b = 0; b < batches; ++b) {
      std::vector<int64_t> ids(evalSize);
      for (int64_t i = 0; i < evalSize; ++i)
        ids[i] = b * evalGlobal + dpRank * evalSize + i;
      eval->fill(ids, evalBatch.views);
      std::vector<TensorView> out = evaluator->run(evalBatch.views);
      total += out[0].as<float>()[0];
    }
    return total / static_cast<double>(batches);
  }

  /// A checkpoint is a state to resume from: one with a NaN or infinite
  /// parameter would only resume into the same failure, so it is refused
  /// (every rank agrees, so that none waits for a save that will not come).
  void refuseNonFiniteParameters(int64_t done, Communicator *ranks) {
    std::string bad;
    for (const NamedTensor &t : state->tensors(false))
      if (!allFinite(t.view)) {
        bad = t.name;
        break;
      }
    if (ranks) {
      float found = bad.empty() ? 0.0f : 1.0f;
      ranks->allReduce({&found, DType::F32, {}}, ReduceOp::Max)->wait();
      if (found != 0 && bad.empty())
        bad = "(on another rank)";
    }
    if (!bad.empty())
      throw Error("step " + std::to_string(done) + ": parameter " + bad +
                  " is not finite; not writing checkpoint-" +
                  std::to_string(done));
  }

  void save(int64_t done) {
    // Every rank holds the same replicated state, which rank 0 saves; a
    // state split over ranks is saved by all of them together.
    Communicator *world = nullptr;
    if (auto it = o.groups.find("world"); it != o.groups.end())
      world = it->second;
    bool together = state->sharded() && world && world->size() > 1;
    refuseNonFiniteParameters(done, together ? world : nullptr);
    if (!o.lead && !together)
      return;
    std::string dir =
        (fs::path(o.saveDir) / ("checkpoint-" + std::to_string(done))).string();
    saveCheckpoint(dir, *state,
                   {{"step", std::to_string(done)},
                    {"epoch", std::to_string(sampler->epoch())},
                    {"cursor", std::to_string(sampler->cursor())},
                    {"seed", std::to_string(sampler->seed())},
                    {"shuffle", sampler->shuffles() ? "1" : "0"},
                    {"batch_size", std::to_string(globalBatch)},
                    {"num_examples", std::to_string(train->size())},
                    {"format", "\"accel-checkpoint-1\""}},
                   checkpointFiles, together ? world : nullptr);
    if (!o.lead)
      return;
    if (!o.quiet)
      std::fprintf(stderr, "saved %s\n", dir.c_str());
    writeLog("{\"step\": " + std::to_string(done) + ", \"checkpoint\": \"" +
             dir + "\"}");
  }

  /// The signal some rank received (every rank must stop after the same
  /// step, so they agree on it after each one), or 0.
  int stopRequestedEverywhere() {
    int sig = StopSignals::requested();
    auto world = o.groups.find("world");
    if (world == o.groups.end() || !world->second ||
        world->second->size() == 1)
      return sig;
    float flag = static_cast<float>(sig);
    world->second->allReduce({&flag, DType::F32, {}}, ReduceOp::Max)->wait();
    return static_cast<int>(flag);
  }

  /// After a SIGINT or SIGTERM: saves the step just done (unless it was
  /// saved already) and ends the run with StoppedBySignal.
  [[noreturn]] void stopOnSignal(int sig, int64_t done, bool saved) {
    if (!o.saveDir.empty() && !saved)
      save(done);
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    writeLog("{\"step\": " + std::to_string(done) + ", \"stopped\": \"" +
             name + "\"}");
    std::string where =
        o.saveDir.empty()
            ? "; nothing saved (no --save-dir)"
            : "; saved checkpoint-" + std::to_string(done) +
                  ", continue with --resume " + o.saveDir;
    throw StoppedBySignal(sig, std::string("stopped by ") + name +
                                   " after step " + std::to_string(done) +
                                   where);
  }

  void loop() {
    const std::vector<std::string> &names = step->outputNames();
    auto indexOf = [&](const char *name) {
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name)
          return static_cast<int>(i);
      return -1;
    };
    int lossAt = indexOf("loss"), lrAt = indexOf("lr");
    int normAt = indexOf("grad_norm"), infAt = indexOf("found_inf");
    int stopAt = indexOf("nonfinite"), scaleAt = indexOf("loss_scale");
    if (lossAt < 0)
      throw Error("train_step has no 'loss' output");
    int64_t stepValue = 0;
    std::map<std::string, TensorView> inputs = batch.views;
    inputs["step"] = {&stepValue, DType::I64, {}};
    bool tty = !o.quiet && ::isatty(STDERR_FILENO);
    if (!o.quiet && !resumedFrom.empty())
      std::fprintf(stderr, "resuming from %s at step %lld\n",
                   resumedFrom.c_str(), static_cast<long long>(startStep));

    StopSignals signals(o.lead ? "\nstopping after the current step (a second "
                                 "signal stops at once)\n"
                               : "");
    step->setProfiling(o.profile || o.rankTiming);
    auto begin = Clock::now(), windowStart = begin;
    int64_t windowSteps = 0;
    for (int64_t k = startStep; k < o.steps; ++k) {
      train->fill(ownBlock(sampler->next()), batch.views);
      stepValue = k;
      int64_t sentBefore = bytesSent();
      double collectiveBefore = collectiveSeconds();
      auto t0 = Clock::now();
      std::vector<TensorView> out = step->run(inputs);
      auto t1 = Clock::now();
      int64_t sent = bytesSent() - sentBefore;
      int64_t done = k + 1;
      double loss = out[lossAt].as<float>()[0];
      double lr = lrAt >= 0 ? out[lrAt].as<double>()[0] : 0;
      double norm = normAt >= 0 ? out[normAt].as<float>()[0] : 0;
      bool skipped = infAt >= 0 && out[infAt].as<uint8_t>()[0] != 0;
      double seconds = std::chrono::duration<double>(t1 - t0).count();
      double rate = globalBatch * train->unitsPerExample() / seconds;
      writeLog(
          "{\"step\": " + std::to_string(done) + ", \"loss\": " + number(loss) +
          ", \"lr\": " + number(lr) + ", \"grad_norm\": " + number(norm) +
          (skipped ? ", \"skipped\": true" : "") +
          (scaleAt >= 0
               ? ", \"loss_scale\": " + number(out[scaleAt].as<float>()[0])
               : "") +
          ", \"" + train->unit() + "_per_second\": " + number(rate) +
          ", \"step_seconds\": " + number(seconds) +
          (o.groups.empty() ? ""
                            : ", \"comm_bytes\": " + std::to_string(sent)) +
          (o.rankTiming
               ? rankTiming(seconds, collectiveSeconds() - collectiveBefore)
               : "") +
          "}");
      bool stop = stopAt >= 0 ? out[stopAt].as<uint8_t>()[0] != 0
                              : !std::isfinite(loss) && !skipped;
      if (stop)
        throw Error("step " + std::to_string(done) + ": the loss is " +
                    number(loss) + " and the gradient norm " + number(norm) +
                    "; stopping before this step's update (build the step "
                    "with skip-nonfinite=true to skip such steps instead)");
      ++windowSteps;
      if (!o.quiet && (done % std::max<int64_t>(1, o.logEvery) == 0 ||
                       done == o.steps || skipped)) {
        double window =
            std::chrono::duration<double>(t1 - windowStart).count();
        double perStep =
            std::chrono::duration<double>(t1 - begin).count() /
            static_cast<double>(done - startStep);
        std::fprintf(stderr,
                     "%sstep %lld/%lld | loss %.4f | lr %.3e | grad norm "
                     "%.3f | %.0f %s/s | ETA %s%s%s",
                     tty ? "\r" : "", static_cast<long long>(done),
                     static_cast<long long>(o.steps), loss, lr, norm,
                     windowSteps * globalBatch * train->unitsPerExample() /
                         window,
                     train->unit(),
                     duration(perStep * (o.steps - done)).c_str(),
                     skipped ? " | skipped (non-finite gradient)" : "",
                     tty && done != o.steps ? "   " : "\n");
        windowStart = t1;
        windowSteps = 0;
      }
      bool evalNow = eval && o.evalEvery > 0 && done % o.evalEvery == 0;
      if (eval && done == o.steps)
        evalNow = true;
      if (evalNow) {
        double evalLoss = evaluate();
        writeLog("{\"step\": " + std::to_string(done) +
                 ", \"eval_loss\": " + number(evalLoss) + "}");
        if (!o.quiet)
          std::fprintf(stderr, "%sstep %lld | eval loss %.4f\n",
                       tty ? "\n" : "", static_cast<long long>(done),
                       evalLoss);
      }
      bool saved = !o.saveDir.empty() &&
                   ((o.saveEvery > 0 && done % o.saveEvery == 0) ||
                    done == o.steps);
      if (saved)
        save(done);
      // A signal during the last step changes nothing: the run is complete.
      if (done < o.steps)
        if (int sig = stopRequestedEverywhere())
          stopOnSignal(sig, done, saved);
    }
    if (!o.quiet)
      std::fprintf(stderr,
                   "arena %.1f MiB (train_step's and eval_step's), parameters "
                   "and optimizer state %.1f MiB\n",
                   std::max(step->arenaBytes(),
                            evaluator ? evaluator->arenaBytes() : 0) /
                       1048576.0,
                   state->bytes() / 1048576.0);
    if (o.profile && o.steps > startStep)
      std::fprintf(stderr, "%s",
                   formatProfile(step->profile(), o.steps - startStep).c_str());
  }

  const Executable &exe;
  ThreadPool &pool;
  const TrainerOptions &o;
  const fb::Function *evalFn = nullptr;
  std::unique_ptr<TrainingState> state;
  DeviceBuffer arena;
  std::unique_ptr<Executor> step, evaluator;
  std::unique_ptr<Dataset> train, eval;
  std::unique_ptr<EpochSampler> sampler;
  Batch batch;
  int64_t batchSize = 0, numClasses = 0, startStep = 0;
  int64_t dpSize = 1, dpRank = 0, globalBatch = 0; // batchSize is per rank
  std::map<std::string, std::string> checkpointFiles; // beside the tensors
  std::string resumedFrom;
  int lockFd = -1; // holds the save dir's lock while the run lives
  std::ofstream log;
  std::string logPath;
};

} // namespace

void train(const Executable &executable, ThreadPool &pool,
           const TrainerOptions &options) {
  Loop(executable, pool, options).run();
}

} // namespace accel::rt
