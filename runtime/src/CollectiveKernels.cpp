//===- CollectiveKernels.cpp - Collectives and waits, registered by name -===//
//
// The kernels that run on a group's Communicator: each collective at once,
// or started by a *_start kernel and completed by the wait that reads its
// buffer. They work through the Communicator interface only, so every
// backend registers them (a device backend's communicator works on its
// memory).
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Communicator.h"
#include "accel/runtime/KernelRegistry.h"
#include "backends/cpu/CpuKernels.h"

#include <cstring>
#include <map>
#include <mutex>

namespace accel::rt {

namespace {
using Views = std::vector<TensorView>;

/// Collectives started and not yet waited for, by the buffer they land in:
/// a *_start kernel leaves its Work here, the wait of that buffer takes it.
class InFlight {
public:
  static InFlight &get() {
    static InFlight table;
    return table;
  }
  void put(const void *buffer, std::unique_ptr<Work> work) {
    std::lock_guard<std::mutex> lock(mutex);
    pending[buffer] = std::move(work);
  }
  /// The work landing in `buffer` (null when already waited for).
  std::unique_ptr<Work> take(const void *buffer) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = pending.find(buffer);
    if (it == pending.end())
      return nullptr;
    std::unique_ptr<Work> work = std::move(it->second);
    pending.erase(it);
    return work;
  }

private:
  std::mutex mutex;
  std::map<const void *, std::unique_ptr<Work>> pending;
};

/// wait: completes the collective landing in the operand's buffer.
BoundKernel bindWait(const fb::Instruction &inst) {
  // The operands after the first are what the collective reads in flight.
  expectArity(inst, std::max<size_t>(1, operandCount(inst)), 1);
  return [](const Views &o, const Views &r, KernelContext &) {
    if (std::unique_ptr<Work> work = InFlight::get().take(o[0].data))
      work->wait();
    if (r[0].data != o[0].data)
      std::memcpy(r[0].data, o[0].data, o[0].bytes());
  };
}

/// A tensor split along dim `axis` into p blocks, moved between its
/// natural layout and p contiguous blocks (what the communicator joins and
/// splits). Dim 0 needs no move.
struct AxisBlocks {
  int64_t outer = 1, wholeRow = 0, blockRow = 0; // rows in bytes

  AxisBlocks(const Shape &whole, int64_t axis, int64_t p, size_t esize) {
    int64_t inner = static_cast<int64_t>(esize);
    for (int64_t d = axis + 1; d < static_cast<int64_t>(whole.size()); ++d)
      inner *= whole[d];
    for (int64_t d = 0; d < axis; ++d)
      outer *= whole[d];
    wholeRow = whole[axis] * inner;
    blockRow = wholeRow / p;
  }
  /// blocks[r] (contiguous, r in rank order) <- whole's block r.
  void toBlocks(const char *whole, char *blocks, int64_t p) const {
    for (int64_t r = 0; r < p; ++r)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(blocks + (r * outer + o) * blockRow,
                    whole + o * wholeRow + r * blockRow, blockRow);
  }
  /// whole's block r <- blocks[r].
  void fromBlocks(const char *blocks, char *whole, int64_t p) const {
    for (int64_t r = 0; r < p; ++r)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(whole + o * wholeRow + r * blockRow,
                    blocks + (r * outer + o) * blockRow, blockRow);
  }
};

/// A collective along a non-leading dim in flight: it owns the buffer of
/// contiguous blocks the communicator works on, and puts a gathered result
/// in place when waited for.
class AlongAxisWork : public Work {
public:
  /// `bytes` of block buffer, left uninitialized (every byte is written
  /// before it is read).
  AlongAxisWork(size_t bytes, AxisBlocks layout, int64_t p)
      : blocks(new char[bytes]), layout(layout), p(p) {}
  void start(std::unique_ptr<Work> work, void *gatherInto) {
    inner = std::move(work);
    into = static_cast<char *>(gatherInto);
  }
  void wait() override {
    inner->wait();
    if (into)
      layout.fromBlocks(blocks.get(), into, p);
  }
  char *data() { return blocks.get(); }

private:
  std::unique_ptr<char[]> blocks;
  AxisBlocks layout;
  int64_t p;
  std::unique_ptr<Work> inner;
  char *into = nullptr;
};

/// An all-gather or reduce-scatter along dim `axis` > 0: through a buffer
/// of contiguous blocks; the start forms leave it in flight like the
/// others.
BoundKernel bindAlongAxis(bool gather, bool started, int64_t axis,
                          Communicator *comm, ReduceOp op) {
  return [=](const Views &o, const Views &r, KernelContext &) {
    int64_t p = comm->size();
    const TensorView &whole = gather ? r[0] : o[0];
    if (axis >= whole.rank() || whole.shape[axis] % p)
      throw Error(std::string(gather ? "all_gather" : "reduce_scatter") + ": " +
                  shapeToString(whole.shape) + " does not hold " +
                  std::to_string(p) + " blocks along dim " +
                  std::to_string(axis));
    AxisBlocks layout(whole.shape, axis, p, dtypeSize(whole.dtype));
    auto work = std::make_unique<AlongAxisWork>(whole.bytes(), layout, p);
    TensorView joined{work->data(), whole.dtype, {whole.numel()}};
    TensorView block = gather ? o[0] : r[0];
    block.shape = {block.numel()};
    if (gather) {
      work->start(comm->allGather(block, joined), r[0].data);
    } else {
      layout.toBlocks(static_cast<const char *>(o[0].data), work->data(), p);
      work->start(comm->reduceScatter(joined, block, op), nullptr);
    }
    if (started)
      InFlight::get().put(r[0].data, std::move(work));
    else
      work->wait();
  };
}

/// A collective runs on its group's communicator: at once, or started by
/// a *_start kernel and completed by a wait.
BoundKernel bindCollective(const std::string &kernel,
                           const fb::Instruction &inst,
                           const CommGroups &groups) {
  expectArity(inst, kernel == "group_rank" ? 0 : 1, 1);
  KernelAttrs attrs(inst);
  std::string group = attrs.str("group");
  auto it = groups.find(group);
  if (it == groups.end() || !it->second)
    throw Error("needs the communicator of group '" + group +
                "', and this run has none (launch the ranks with "
                "accel-run --nproc-per-node N, torchrun, Slurm or mpirun)");
  Communicator *comm = it->second;
  if (kernel == "group_rank")
    return [comm](const Views &, const Views &r, KernelContext &) {
      if (r[0].dtype != DType::I64 || r[0].numel() != 1)
        throw Error("group_rank: the result must be an int64 scalar");
      *static_cast<int64_t *>(r[0].data) = comm->rank();
    };
  if (kernel == "all_slice") {
    int64_t axis = attrs.integer("axis");
    // This rank's block, read in place: no communication.
    return [comm, axis](const Views &o, const Views &r, KernelContext &c) {
      std::vector<int64_t> starts(o[0].rank(), 0), steps(o[0].rank(), 1);
      if (axis >= o[0].rank() ||
          o[0].shape[axis] != r[0].shape[axis] * comm->size())
        throw Error("all_slice: " + shapeToString(o[0].shape) +
                    " does not hold " + std::to_string(comm->size()) +
                    " blocks of " + shapeToString(r[0].shape) + " along dim " +
                    std::to_string(axis));
      starts[axis] = comm->rank() * r[0].shape[axis];
      cpu::slice(o[0], r[0], starts, steps, c.pool);
    };
  }
  ReduceOp op = ReduceOp::Sum;
  if (kernel != "all_gather" && kernel != "all_gather_start") {
    std::string r = attrs.str("reduction");
    if (r == "max")
      op = ReduceOp::Max;
    else if (r == "min")
      op = ReduceOp::Min;
    else if (r != "sum")
      throw Error("unknown reduction '" + r + "'");
  }
  int64_t axis = attrs.optionalInteger("axis").value_or(0);
  if (axis != 0)
    return bindAlongAxis(kernel.rfind("all_gather", 0) == 0,
                         kernel.size() > 6 && kernel.compare(kernel.size() - 6,
                                                             6, "_start") == 0,
                         axis, comm, op);
  if (kernel == "all_reduce")
    return [comm, op](const Views &o, const Views &r, KernelContext &) {
      if (r[0].data != o[0].data)
        std::memcpy(r[0].data, o[0].data, o[0].bytes());
      comm->allReduce(r[0], op)->wait();
    };
  if (kernel == "all_reduce_start")
    return [comm, op](const Views &o, const Views &r, KernelContext &) {
      if (r[0].data != o[0].data)
        std::memcpy(r[0].data, o[0].data, o[0].bytes());
      InFlight::get().put(r[0].data, comm->allReduce(r[0], op));
    };
  if (kernel == "all_gather")
    return [comm](const Views &o, const Views &r, KernelContext &) {
      comm->allGather(o[0], r[0])->wait();
    };
  if (kernel == "all_gather_start")
    return [comm](const Views &o, const Views &r, KernelContext &) {
      InFlight::get().put(r[0].data, comm->allGather(o[0], r[0]));
    };
  if (kernel == "reduce_scatter_start")
    return [comm, op](const Views &o, const Views &r, KernelContext &) {
      InFlight::get().put(r[0].data, comm->reduceScatter(o[0], r[0], op));
    };
  return [comm, op](const Views &o, const Views &r, KernelContext &) {
    comm->reduceScatter(o[0], r[0], op)->wait();
  };
}
} // namespace

void registerCollectiveKernels(KernelRegistry &registry) {
  registry.add("wait", [](const KernelSite &site) -> BoundKernel {
    [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
    return bindWait(inst);
  });
  for (const char *name :
       {"all_reduce", "all_reduce_start", "all_gather", "all_gather_start",
        "all_slice", "group_rank", "reduce_scatter", "reduce_scatter_start"})
    registry.add(name, [](const KernelSite &site) -> BoundKernel {
      [[maybe_unused]] const auto &[kernel, inst, attrs, groups] = site;
      return bindCollective(kernel, inst, groups);
    });
}

} // namespace accel::rt
