//===- Executor.h - Runs one function of an executable ----------*- C++ -*-===//
//
// Binds a function to its weights once (zero-copy views into the memory-
// mapped safetensors file where the dtype matches), resolves every
// instruction to a kernel call, and then runs it as often as asked on the
// caller's inputs. Temporaries live in one arena sized by the compiler's
// memory plan.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_EXECUTOR_H
#define ACCEL_RUNTIME_EXECUTOR_H

#include "accel/runtime/Executable.h"
#include "accel/runtime/KernelRegistry.h"
#include "accel/runtime/Memory.h"
#include "accel/runtime/Safetensors.h"
#include "accel/runtime/Tensor.h"
#include "accel/runtime/ThreadPool.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel::rt {


/// A parameter or optimizer-state value of a function, which the caller
/// provides storage for.
struct StateSpec {
  std::string name;
  bool isOptimizerState = false; // fb::Storage::State, else a Parameter
  bool updated = false;          // an output replaces it after each run
  DType dtype = DType::F32;
  Shape shape;                    // this rank's part
  std::vector<std::string> split; // per dim: the grid axis split along ("")
  double initial = 0;             // every element's value before step 1
};

/// Returns the storage of a parameter or state (checked against the spec);
/// writable when spec.updated.
using StateBinder = std::function<TensorView(const StateSpec &spec)>;

class Executor {
public:
  /// Inference: parameters are views of `weights` (may be null when the
  /// function has none). Throws Error when a parameter is missing from the
  /// weights or has another shape or dtype, when the function has optimizer
  /// state or updates (a training step; see the StateBinder form), or when
  /// an instruction names an unknown kernel.
  Executor(const Executable &executable, const fb::Function &function,
           const SafetensorsFile *weights, ThreadPool &pool,
           const CommGroups &groups = {});

  /// Parameters and state bound by `bind`. After each run, every output
  /// that updates one (fb::Function::output_updates) has been stored into
  /// it, in place where the compiler planned so. With `sharedArena` (64-byte
  /// aligned, at least function.arena_size() bytes), temporaries live there
  /// instead of in an arena of the executor's own: executors that never run
  /// at the same time (a training and an evaluation step) can share one.
  Executor(const Executable &executable, const fb::Function &function,
           const StateBinder &bind, ThreadPool &pool,
           char *sharedArena = nullptr, const CommGroups &groups = {});

  /// The parameters and state `function` needs, in value order.
  static std::vector<StateSpec> stateSpecs(const fb::Function &function);

  struct InputSpec {
    std::string name;
    DType dtype;
    Shape shape;
  };
  const std::vector<InputSpec> &inputs() const { return inputSpecs; }
  const std::vector<std::string> &outputNames() const { return outputNames_; }
  /// The shape of output `i`, known before any run.
  const Shape &outputShape(size_t i) const {
    return values.at(outputValues.at(i)).shape;
  }

  /// Runs the function. `inputs` maps each input name to a view of the
  /// caller's data (checked against the expected dtype and shape). The
  /// returned views stay valid until the next run or the executor's end.
  std::vector<TensorView> run(const std::map<std::string, TensorView> &inputs);

  /// Bytes of the arena holding every temporary.
  int64_t arenaBytes() const { return arenaSize; }

  /// When on, run() accumulates wall time per kernel name (for --profile).
  void setProfiling(bool on) { profiling = on; }
  /// Kernel name -> (seconds, calls) since profiling was turned on.
  const std::map<std::string, std::pair<double, int64_t>> &profile() const {
    return kernelTimes;
  }

private:
  void bindValues(const Executable &executable, const StateBinder &bind,
                  char *sharedArena, const CommGroups &groups);

  struct Step {
    BoundKernel kernel;
    std::vector<int> operands, results;
    std::string kernelName, location;
  };

  const fb::Function &function;
  ThreadPool &pool;
  std::vector<TensorView> values;
  std::vector<int> aliasOf; // -1 or the value whose bytes a value shares
  std::vector<InputSpec> inputSpecs;
  std::vector<int> inputValues, outputValues;
  std::vector<int> outputUpdates; // per output: the value it replaces, or -1
  std::vector<std::string> outputNames_;
  std::vector<Step> steps;
  int64_t arenaSize = 0;
  // Owned from the start of construction, so a constructor that throws
  // (a missing weight, say) frees it.
  DeviceBuffer arena;
  // Weights the model stores narrower than its file holds them (fp32 in
  // the file, bf16/fp16 parameters: accel-store-weights), rounded once here.
  std::vector<std::unique_ptr<uint16_t[]>> narrowedWeights;
  bool profiling = false;
  std::map<std::string, std::pair<double, int64_t>> kernelTimes;
};

/// A table of Executor::profile(): per kernel, ms per iteration, share of
/// the total and calls per iteration, slowest first.
std::string formatProfile(
    const std::map<std::string, std::pair<double, int64_t>> &profile,
    int64_t iterations);

/// Peak resident set size of this process so far, in bytes.
int64_t peakResidentBytes();

} // namespace accel::rt

#endif // ACCEL_RUNTIME_EXECUTOR_H
