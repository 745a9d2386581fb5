//===- KernelRegistry.h - Kernel names to bound kernels, per backend -*- C++
//-*-===//
//
// The op -> kernel contract of the runtime: a backend fills a registry with
// one binder per kernel name (the CPU backend in CpuKernels.cpp, the
// collectives for every backend in CollectiveKernels.cpp); the executor
// binds each instruction once through its device's registry, and the bound
// kernel runs with a KernelContext (device, stream, thread pool). The
// compiler's executable writer emits the same names
// (lib/Target/Executable/InstructionEncoding.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_KERNELREGISTRY_H
#define ACCEL_RUNTIME_KERNELREGISTRY_H

#include "accel/runtime/Executable.h"
#include "accel/runtime/Tensor.h"
#include "accel/runtime/ThreadPool.h"
#include "accel/runtime/schema/executable_generated.h"

#include <functional>
#include <map>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace accel::rt {

class Communicator;

/// The communicators a function's collectives run on, by group name (a
/// grid axis such as "dp"; "world" is every rank of the job).
using CommGroups = std::map<std::string, Communicator *>;

enum class DeviceKind { Cpu, Cuda };

struct Device {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;
};

/// What a kernel runs with: its device, the stream it enqueues on (a
/// cudaStream_t on the CUDA backend; none on the CPU) and the threads the
/// CPU backend splits work over.
struct KernelContext {
  ThreadPool &pool;
  Device device{};
  void *stream = nullptr;
};

/// A bound instruction: its kernel with attributes decoded at load time.
using BoundKernel = std::function<void(const std::vector<TensorView> &operands,
                                       const std::vector<TensorView> &results,
                                       KernelContext &context)>;

/// Typed access to an instruction's named attributes; throws Error for a
/// missing or ill-typed one.
class KernelAttrs {
public:
  explicit KernelAttrs(const fb::Instruction &inst) : inst(inst) {}

  std::vector<int64_t> ints(const char *name) const;
  int64_t integer(const char *name) const;
  /// An integer attribute the encoder writes only when it is set.
  std::optional<int64_t> optionalInteger(const char *name) const;
  double number(const char *name) const;
  std::string str(const char *name) const;
  /// A string attribute the encoder writes only when it is set.
  std::optional<std::string> optionalStr(const char *name) const;

private:
  /// The attribute called `name`, or null.
  const fb::Attr *lookup(const char *name) const;
  const fb::Attr *find(const char *name) const;
  const fb::Instruction &inst;
};

size_t operandCount(const fb::Instruction &inst);
/// Throws Error unless `inst` has that many operands and results, and every
/// operand is present except at the `optional` positions (an absent one is
/// -1 in the executable; a kernel must never see it where it needs data).
void expectArity(const fb::Instruction &inst, size_t operands, size_t results,
                 std::initializer_list<size_t> optional = {});

/// The instruction a binder binds: its kernel name (one binder may serve
/// several names), the instruction, its attributes and the job's
/// communicators.
struct KernelSite {
  const std::string &kernel;
  const fb::Instruction &inst;
  const KernelAttrs &attrs;
  const CommGroups &groups;
};
using KernelBinder = std::function<BoundKernel(const KernelSite &)>;

/// One backend's kernels by name.
class KernelRegistry {
public:
  /// Registers `binder` for `name`; a name registered twice is a bug
  /// (throws Error).
  void add(const std::string &name, KernelBinder binder);
  /// Binds `inst`: throws Error for an unknown kernel, a missing or
  /// ill-typed attribute, or a collective whose group is not in `groups`.
  BoundKernel bind(const fb::Instruction &inst, const CommGroups &groups) const;

private:
  std::map<std::string, KernelBinder> binders;
};

/// What the backends register (CpuKernels.cpp, CollectiveKernels.cpp).
void registerCpuKernels(KernelRegistry &registry);
void registerCollectiveKernels(KernelRegistry &registry);

/// The registry of a device kind, filled on first use; throws Error for a
/// backend this build does not have.
const KernelRegistry &kernelRegistry(DeviceKind kind = DeviceKind::Cpu);

/// kernelRegistry(kind).bind(instruction, groups).
BoundKernel bindKernel(const fb::Instruction &instruction,
                       const CommGroups &groups = {},
                       DeviceKind kind = DeviceKind::Cpu);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_KERNELREGISTRY_H
