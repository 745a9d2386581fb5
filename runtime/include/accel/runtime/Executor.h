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

/// A bound instruction: its kernel with attributes decoded at load time.
using BoundKernel = std::function<void(const std::vector<TensorView> &operands,
                                       const std::vector<TensorView> &results,
                                       ThreadPool &pool)>;

class Executor {
public:
  /// `weights` may be null when the function has no parameters. Throws Error
  /// when a parameter is missing from the weights or has another shape or
  /// dtype, or when an instruction names an unknown kernel.
  Executor(const Executable &executable, const fb::Function &function,
           const SafetensorsFile *weights, ThreadPool &pool);

  struct InputSpec {
    std::string name;
    DType dtype;
    Shape shape;
  };
  const std::vector<InputSpec> &inputs() const { return inputSpecs; }
  const std::vector<std::string> &outputNames() const { return outputNames_; }

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
  std::vector<std::string> outputNames_;
  std::vector<Step> steps;
  int64_t arenaSize = 0;
  struct Free {
    void operator()(void *p) const { std::free(p); }
  };
  // Owned from the start of construction, so a constructor that throws
  // (a missing weight, say) frees it.
  std::unique_ptr<char, Free> arena;
  bool profiling = false;
  std::map<std::string, std::pair<double, int64_t>> kernelTimes;
};

/// Peak resident set size of this process so far, in bytes.
int64_t peakResidentBytes();

} // namespace accel::rt

#endif // ACCEL_RUNTIME_EXECUTOR_H
