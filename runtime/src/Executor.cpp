//===- Executor.cpp - Runs one function of an executable -----------------===//
#include "accel/runtime/Executor.h"
#include "accel/runtime/KernelRegistry.h"
#include "accel/runtime/schema/executable_generated.h"
#include "backends/cpu/CpuKernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>

namespace accel::rt {

namespace {
Shape shapeOf(const fb::Value &v) {
  Shape shape;
  if (v.shape())
    shape.assign(v.shape()->begin(), v.shape()->end());
  return shape;
}

std::string describe(const fb::Value &v, int index) {
  if (v.name() && v.name()->size())
    return "'" + v.name()->str() + "'";
  return "value " + std::to_string(index);
}
} // namespace

std::vector<StateSpec> Executor::stateSpecs(const fb::Function &function) {
  std::vector<bool> updated(function.values() ? function.values()->size() : 0);
  if (function.output_updates())
    for (int target : *function.output_updates())
      if (target >= 0)
        updated[target] = true;
  std::vector<StateSpec> specs;
  for (size_t i = 0; i < updated.size(); ++i) {
    const fb::Value &v = *function.values()->Get(i);
    if (v.storage() == fb::Storage::Parameter ||
        v.storage() == fb::Storage::State) {
      std::vector<std::string> split;
      if (v.split())
        for (const flatbuffers::String *axis : *v.split())
          split.push_back(axis->str());
      specs.push_back({v.name()->str(), v.storage() == fb::Storage::State,
                       updated[i], DType(v.dtype()), shapeOf(v),
                       std::move(split), v.initial()});
    }
  }
  return specs;
}

Executor::Executor(const Executable &executable, const fb::Function &function,
                   const SafetensorsFile *weights, ThreadPool &pool,
                   const CommGroups &groups)
    : function(function), pool(pool) {
  const std::string where = executable.origin() + ": function '" +
                            (function.name() ? function.name()->str() : "?") +
                            "'";
  bindValues(executable, [&](const StateSpec &spec) -> TensorView {
    if (spec.isOptimizerState || spec.updated)
      throw Error(where + " is a training step (it updates '" + spec.name +
                  "'); run it with the training loop (accel-run --steps)");
    if (!weights)
      throw Error(where + ": parameter '" + spec.name +
                  "' needs a weights file (--weights)");
    TensorView w = weights->tensor(spec.name); // throws naming file and tensor
    if (w.dtype == DType::F32 &&
        (spec.dtype == DType::BF16 || spec.dtype == DType::F16) &&
        w.shape == spec.shape) {
      // Stored in bf16/fp16 for inference: rounded to nearest-even once.
      auto narrow = std::make_unique<uint16_t[]>(w.numel());
      TensorView bound{narrow.get(), spec.dtype, spec.shape};
      cpu::cast(w, bound, pool);
      weights->release(w);
      narrowedWeights.push_back(std::move(narrow));
      return bound;
    }
    if (w.dtype != spec.dtype || w.shape != spec.shape)
      throw Error(weights->path() + ": tensor '" + spec.name + "' is " +
                  dtypeName(w.dtype) + " " + shapeToString(w.shape) +
                  ", the model expects " + dtypeName(spec.dtype) + " " +
                  shapeToString(spec.shape));
    return w;
  }, nullptr, groups);
}

Executor::Executor(const Executable &executable, const fb::Function &function,
                   const StateBinder &bind, ThreadPool &pool,
                   char *sharedArena, const CommGroups &groups)
    : function(function), pool(pool) {
  bindValues(executable, bind, sharedArena, groups);
}

void Executor::bindValues(const Executable &executable,
                          const StateBinder &bind, char *sharedArena,
                          const CommGroups &groups) {
  const std::string where =
      executable.origin() + ": function '" +
      (function.name() ? function.name()->str() : std::string("?")) + "'";
  arenaSize = function.arena_size();
  char *base = sharedArena;
  if (arenaSize > 0 && !sharedArena) {
    arena = allocateBuffer(hostAllocator(), arenaSize, where + ": its arena");
    base = arena.get();
  }

  std::vector<StateSpec> specs = stateSpecs(function);
  size_t nextSpec = 0;
  int numValues = function.values() ? function.values()->size() : 0;
  values.resize(numValues);
  aliasOf.assign(numValues, -1);
  for (int i = 0; i < numValues; ++i) {
    const fb::Value &v = *function.values()->Get(i);
    TensorView &view = values[i];
    view.dtype = DType(v.dtype());
    view.shape = shapeOf(v);
    switch (v.storage()) {
    case fb::Storage::Arena:
      view.data = base + v.arena_offset();
      break;
    case fb::Storage::Constant:
      view.data = const_cast<uint8_t *>(
          executable.root().constants()->Get(v.constant())->data()->data());
      break;
    case fb::Storage::Alias:
      aliasOf[i] = v.alias_of();
      view.data = values[v.alias_of()].data;
      if (view.bytes() != values[v.alias_of()].bytes())
        throw Error(where + ": " + describe(v, i) +
                    " aliases a value of another size");
      break;
    case fb::Storage::Parameter:
    case fb::Storage::State: {
      const StateSpec &spec = specs[nextSpec++];
      TensorView bound = bind(spec);
      if (bound.dtype != spec.dtype || bound.shape != spec.shape ||
          !bound.data)
        throw Error(where + ": '" + spec.name + "' was bound to " +
                    dtypeName(bound.dtype) + " " +
                    shapeToString(bound.shape) + ", it needs " +
                    dtypeName(spec.dtype) + " " + shapeToString(spec.shape));
      view.data = bound.data;
      break;
    }
    case fb::Storage::Input:
      break; // bound per run
    }
  }
  if (function.inputs())
    for (int index : *function.inputs()) {
      const fb::Value &v = *function.values()->Get(index);
      inputSpecs.push_back({v.name()->str(), DType(v.dtype()), shapeOf(v)});
      inputValues.push_back(index);
    }
  if (function.outputs())
    for (size_t i = 0; i < function.outputs()->size(); ++i) {
      outputValues.push_back(function.outputs()->Get(i));
      outputNames_.push_back(function.output_names()->Get(i)->str());
      outputUpdates.push_back(function.output_updates()
                                  ? function.output_updates()->Get(i)
                                  : -1);
    }
  if (function.instructions())
    for (const fb::Instruction *inst : *function.instructions()) {
      Step step;
      step.kernelName = inst->kernel()->str();
      step.location = inst->location() ? inst->location()->str() : "";
      try {
        step.kernel = bindKernel(*inst, groups);
      } catch (const std::exception &e) {
        throw Error(where + ": instruction '" + step.kernelName + "'" +
                    (step.location.empty() ? "" : " at " + step.location) +
                    ": " + e.what());
      }
      if (inst->operands())
        step.operands.assign(inst->operands()->begin(),
                             inst->operands()->end());
      if (inst->results())
        step.results.assign(inst->results()->begin(), inst->results()->end());
      steps.push_back(std::move(step));
    }
}

std::vector<TensorView>
Executor::run(const std::map<std::string, TensorView> &inputs) {
  for (size_t i = 0; i < inputSpecs.size(); ++i) {
    const InputSpec &spec = inputSpecs[i];
    auto it = inputs.find(spec.name);
    if (it == inputs.end())
      throw Error("missing input '" + spec.name + "' (" +
                  dtypeName(spec.dtype) + " " + shapeToString(spec.shape) +
                  ")");
    const TensorView &given = it->second;
    if (given.dtype != spec.dtype || given.shape != spec.shape)
      throw Error("input '" + spec.name + "' is " + dtypeName(given.dtype) +
                  " " + shapeToString(given.shape) + ", the model expects " +
                  dtypeName(spec.dtype) + " " + shapeToString(spec.shape));
    values[inputValues[i]].data = given.data;
  }
  for (const auto &[name, view] : inputs) {
    bool known = false;
    for (const InputSpec &spec : inputSpecs)
      known |= spec.name == name;
    if (!known)
      throw Error("the model has no input '" + name + "'");
  }
  // Aliases of inputs follow the caller's buffers.
  for (size_t i = 0; i < values.size(); ++i)
    if (aliasOf[i] >= 0)
      values[i].data = values[aliasOf[i]].data;

  std::vector<TensorView> operands, results;
  KernelContext context{pool};
  for (const Step &step : steps) {
    operands.clear();
    results.clear();
    for (int index : step.operands)
      operands.push_back(index < 0 ? TensorView{} : values[index]);
    for (int index : step.results)
      results.push_back(values[index]);
    auto start = std::chrono::steady_clock::now();
    try {
      step.kernel(operands, results, context);
    } catch (const std::exception &e) {
      throw Error("kernel '" + step.kernelName + "'" +
                  (step.location.empty() ? "" : " at " + step.location) +
                  ": " + e.what());
    }
    if (profiling) {
      auto &[seconds, calls] = kernelTimes[step.kernelName];
      seconds += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
      ++calls;
    }
  }
  // Updates the planner could not place in place are copied now, after
  // every kernel has read the old values.
  std::vector<TensorView> outputs;
  for (size_t i = 0; i < outputValues.size(); ++i) {
    const TensorView &out = values[outputValues[i]];
    if (outputUpdates[i] >= 0) {
      const TensorView &target = values[outputUpdates[i]];
      if (target.data != out.data)
        std::memcpy(target.data, out.data, out.bytes());
      outputs.push_back(target);
      continue;
    }
    outputs.push_back(out);
  }
  return outputs;
}

std::string formatProfile(
    const std::map<std::string, std::pair<double, int64_t>> &profile,
    int64_t iterations) {
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> rows(
      profile.begin(), profile.end());
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.first > b.second.first;
  });
  double total = 0;
  for (const auto &row : rows)
    total += row.second.first;
  std::string out = "kernel              ms/iter   share  calls/iter\n";
  char line[160];
  for (const auto &[name, t] : rows) {
    std::snprintf(line, sizeof line, "%-18s %9.2f %6.1f%% %10lld\n",
                  name.c_str(), t.first * 1000 / iterations,
                  100 * t.first / total,
                  static_cast<long long>(t.second / iterations));
    out += line;
  }
  return out;
}

int64_t peakResidentBytes() {
  // This program's own high-water mark (VmHWM): getrusage's ru_maxrss
  // survives exec, so a process started by a large parent (a benchmark
  // holding a model) would report the parent's peak.
  if (std::FILE *status = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, status))
      if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1)
        break;
    std::fclose(status);
    if (kib >= 0)
      return static_cast<int64_t>(kib) * 1024;
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

} // namespace accel::rt
