//===- KernelTable.cpp - Kernel names to bound host kernels --------------===//
//
// Attributes are decoded once, when the executor binds an instruction; the
// returned closure only forwards views. Names and attributes here are the
// contract with lib/Target/Executable/InstructionEncoding.cpp.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/KernelTable.h"
#include "accel/runtime/Communicator.h"
#include "backends/cpu/CpuKernels.h"

#include <cstring>
#include <map>
#include <mutex>

namespace accel::rt {

namespace {
using cpu::BinaryKind;
using cpu::CompareKind;
using cpu::ReduceKind;
using cpu::UnaryKind;
using Views = std::vector<TensorView>;

/// Typed access to an instruction's named attributes.
class Attrs {
public:
  explicit Attrs(const fb::Instruction &inst) : inst(inst) {}

  std::vector<int64_t> ints(const char *name) const {
    const fb::Attr *a = find(name);
    if (!a->ints())
      throw Error(std::string("attribute '") + name + "' holds no integers");
    return {a->ints()->begin(), a->ints()->end()};
  }
  int64_t integer(const char *name) const {
    std::vector<int64_t> v = ints(name);
    if (v.size() != 1)
      throw Error(std::string("attribute '") + name + "' must be one integer");
    return v[0];
  }
  /// An integer attribute the encoder writes only when it is set.
  std::optional<int64_t> optionalInteger(const char *name) const {
    if (!has(name))
      return std::nullopt;
    return integer(name);
  }
  double number(const char *name) const {
    const fb::Attr *a = find(name);
    if (!a->floats() || a->floats()->size() != 1)
      throw Error(std::string("attribute '") + name + "' must be one number");
    return a->floats()->Get(0);
  }
  /// A string attribute the encoder writes only when it is set.
  std::optional<std::string> optionalStr(const char *name) const {
    if (!has(name))
      return std::nullopt;
    return str(name);
  }
  std::string str(const char *name) const {
    const fb::Attr *a = find(name);
    if (!a->str())
      throw Error(std::string("attribute '") + name + "' holds no string");
    return a->str()->str();
  }

private:
  /// The attribute called `name`, or null.
  const fb::Attr *lookup(const char *name) const {
    if (inst.attrs())
      for (const fb::Attr *a : *inst.attrs())
        if (a->name() && a->name()->str() == name)
          return a;
    return nullptr;
  }
  bool has(const char *name) const { return lookup(name) != nullptr; }
  const fb::Attr *find(const char *name) const {
    if (const fb::Attr *a = lookup(name))
      return a;
    throw Error(std::string("missing attribute '") + name + "'");
  }
  const fb::Instruction &inst;
};

void expectArity(const fb::Instruction &inst, size_t operands,
                 size_t results);
size_t operandCount(const fb::Instruction &inst);

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
  return [](const Views &o, const Views &r, ThreadPool &) {
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
  return [=](const Views &o, const Views &r, ThreadPool &) {
    int64_t p = comm->size();
    const TensorView &whole = gather ? r[0] : o[0];
    if (axis >= whole.rank() || whole.shape[axis] % p)
      throw Error(std::string(gather ? "all_gather" : "reduce_scatter") +
                  ": " + shapeToString(whole.shape) + " does not hold " +
                  std::to_string(p) + " blocks along dim " +
                  std::to_string(axis));
    AxisBlocks layout(whole.shape, axis, p, dtypeSize(whole.dtype));
    auto work = std::make_unique<AlongAxisWork>(
        whole.bytes(), layout, p);
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
  Attrs attrs(inst);
  std::string group = attrs.str("group");
  auto it = groups.find(group);
  if (it == groups.end() || !it->second)
    throw Error("needs the communicator of group '" + group +
                "', and this run has none (launch the ranks with "
                "accel-run --nproc-per-node N, torchrun, Slurm or mpirun)");
  Communicator *comm = it->second;
  if (kernel == "group_rank")
    return [comm](const Views &, const Views &r, ThreadPool &) {
      if (r[0].dtype != DType::I64 || r[0].numel() != 1)
        throw Error("group_rank: the result must be an int64 scalar");
      *static_cast<int64_t *>(r[0].data) = comm->rank();
    };
  if (kernel == "all_slice") {
    int64_t axis = attrs.integer("axis");
    // This rank's block, read in place: no communication.
    return [comm, axis](const Views &o, const Views &r, ThreadPool &p) {
      std::vector<int64_t> starts(o[0].rank(), 0), steps(o[0].rank(), 1);
      if (axis >= o[0].rank() || o[0].shape[axis] != r[0].shape[axis] * comm->size())
        throw Error("all_slice: " + shapeToString(o[0].shape) + " does not hold " +
                    std::to_string(comm->size()) + " blocks of " +
                    shapeToString(r[0].shape) + " along dim " + std::to_string(axis));
      starts[axis] = comm->rank() * r[0].shape[axis];
      cpu::slice(o[0], r[0], starts, steps, p);
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
                         kernel.size() > 6 &&
                             kernel.compare(kernel.size() - 6, 6, "_start") == 0,
                         axis, comm, op);
  if (kernel == "all_reduce")
    return [comm, op](const Views &o, const Views &r, ThreadPool &) {
      if (r[0].data != o[0].data)
        std::memcpy(r[0].data, o[0].data, o[0].bytes());
      comm->allReduce(r[0], op)->wait();
    };
  if (kernel == "all_reduce_start")
    return [comm, op](const Views &o, const Views &r, ThreadPool &) {
      if (r[0].data != o[0].data)
        std::memcpy(r[0].data, o[0].data, o[0].bytes());
      InFlight::get().put(r[0].data, comm->allReduce(r[0], op));
    };
  if (kernel == "all_gather")
    return [comm](const Views &o, const Views &r, ThreadPool &) {
      comm->allGather(o[0], r[0])->wait();
    };
  if (kernel == "all_gather_start")
    return [comm](const Views &o, const Views &r, ThreadPool &) {
      InFlight::get().put(r[0].data, comm->allGather(o[0], r[0]));
    };
  if (kernel == "reduce_scatter_start")
    return [comm, op](const Views &o, const Views &r, ThreadPool &) {
      InFlight::get().put(r[0].data, comm->reduceScatter(o[0], r[0], op));
    };
  return [comm, op](const Views &o, const Views &r, ThreadPool &) {
    comm->reduceScatter(o[0], r[0], op)->wait();
  };
}

size_t operandCount(const fb::Instruction &inst) {
  return inst.operands() ? inst.operands()->size() : 0;
}

void expectArity(const fb::Instruction &inst, size_t operands,
                 size_t results) {
  size_t haveOps = operandCount(inst);
  size_t haveRes = inst.results() ? inst.results()->size() : 0;
  if (haveOps != operands || haveRes != results)
    throw Error("expects " + std::to_string(operands) + " operands and " +
                std::to_string(results) + " results, has " +
                std::to_string(haveOps) + " and " + std::to_string(haveRes));
}

/// A view of `v` with the shape given (same bytes).
TensorView reshaped(const TensorView &v, Shape shape) {
  TensorView r = v;
  r.shape = std::move(shape);
  return r;
}

const std::map<std::string, BinaryKind> kBinary = {
    {"add", BinaryKind::Add}, {"sub", BinaryKind::Sub},
    {"mul", BinaryKind::Mul}, {"div", BinaryKind::Div},
    {"pow", BinaryKind::Pow}, {"max", BinaryKind::Max},
    {"min", BinaryKind::Min}};
const std::map<std::string, UnaryKind> kUnary = {
    {"neg", UnaryKind::Neg},       {"abs", UnaryKind::Abs},
    {"exp", UnaryKind::Exp},       {"log", UnaryKind::Log},
    {"sqrt", UnaryKind::Sqrt},     {"rsqrt", UnaryKind::Rsqrt},
    {"reciprocal", UnaryKind::Reciprocal},
    {"tanh", UnaryKind::Tanh},     {"erf", UnaryKind::Erf},
    {"relu", UnaryKind::Relu},     {"sigmoid", UnaryKind::Sigmoid},
    {"silu", UnaryKind::Silu},     {"sin", UnaryKind::Sin},
    {"cos", UnaryKind::Cos},       {"floor", UnaryKind::Floor},
    {"ceil", UnaryKind::Ceil},     {"not", UnaryKind::Not}};
const std::map<std::string, CompareKind> kCompare = {
    {"eq", CompareKind::Eq}, {"ne", CompareKind::Ne}, {"lt", CompareKind::Lt},
    {"le", CompareKind::Le}, {"gt", CompareKind::Gt}, {"ge", CompareKind::Ge}};
const std::map<std::string, ReduceKind> kReduce = {
    {"reduce_sum", ReduceKind::Sum}, {"reduce_mean", ReduceKind::Mean},
    {"reduce_max", ReduceKind::Max}, {"reduce_min", ReduceKind::Min}};

const std::map<std::string, cpu::LrScheduleKind> kSchedule = {
    {"constant", cpu::LrScheduleKind::Constant},
    {"constant_with_warmup", cpu::LrScheduleKind::ConstantWithWarmup},
    {"linear", cpu::LrScheduleKind::Linear},
    {"cosine", cpu::LrScheduleKind::Cosine}};

template <typename Map>
typename Map::mapped_type lookup(const Map &map, const std::string &key,
                                 const char *what) {
  auto it = map.find(key);
  if (it == map.end())
    throw Error(std::string("unknown ") + what + " '" + key + "'");
  return it->second;
}
} // namespace

BoundKernel bindKernel(const fb::Instruction &inst, const CommGroups &groups) {
  const std::string kernel = inst.kernel()->str();
  if (kernel == "wait")
    return bindWait(inst);
  if (kernel == "all_reduce" || kernel == "all_reduce_start" ||
      kernel == "all_gather" || kernel == "all_gather_start" ||
      kernel == "all_slice" || kernel == "group_rank" ||
      kernel == "reduce_scatter" || kernel == "reduce_scatter_start")
    return bindCollective(kernel, inst, groups);
  Attrs attrs(inst);

  if (auto it = kBinary.find(kernel); it != kBinary.end()) {
    expectArity(inst, 2, 1);
    return [kind = it->second](const Views &o, const Views &r,
                               ThreadPool &p) {
      cpu::binary(kind, o[0], o[1], r[0], p);
    };
  }
  if (auto it = kUnary.find(kernel); it != kUnary.end()) {
    expectArity(inst, 1, 1);
    return [kind = it->second](const Views &o, const Views &r,
                               ThreadPool &p) { cpu::unary(kind, o[0], r[0], p); };
  }
  if (auto it = kReduce.find(kernel); it != kReduce.end()) {
    expectArity(inst, 1, 1);
    std::vector<int64_t> axes = attrs.ints("axes");
    return [kind = it->second, axes](const Views &o, const Views &r,
                                     ThreadPool &p) {
      // The kernel writes the keep-dims form; the result's bytes are the same.
      Shape kept = o[0].shape;
      for (int64_t a : axes) {
        if (a < 0 || a >= o[0].rank())
          throw Error("reduction axis " + std::to_string(a) +
                      " is out of range for rank " +
                      std::to_string(o[0].rank()));
        kept[a] = 1;
      }
      cpu::reduce(kind, o[0], reshaped(r[0], kept), axes, p);
    };
  }
  if (kernel == "gelu") {
    expectArity(inst, 1, 1);
    std::string approx = attrs.str("approximate");
    if (approx != "none" && approx != "tanh")
      throw Error("unknown gelu approximation '" + approx + "'");
    UnaryKind kind = approx == "tanh" ? UnaryKind::GeluTanh : UnaryKind::GeluErf;
    return [kind](const Views &o, const Views &r, ThreadPool &p) {
      cpu::unary(kind, o[0], r[0], p);
    };
  }
  if (kernel == "compare") {
    expectArity(inst, 2, 1);
    CompareKind kind = lookup(kCompare, attrs.str("direction"), "comparison");
    return [kind](const Views &o, const Views &r, ThreadPool &p) {
      cpu::compare(kind, o[0], o[1], r[0], p);
    };
  }
  if (kernel == "where") {
    expectArity(inst, 3, 1);
    return [](const Views &o, const Views &r, ThreadPool &p) {
      cpu::where(o[0], o[1], o[2], r[0], p);
    };
  }
  if (kernel == "cast" || kernel == "copy" || kernel == "broadcast") {
    expectArity(inst, 1, 1);
    if (kernel == "cast")
      return [](const Views &o, const Views &r, ThreadPool &p) {
        cpu::cast(o[0], r[0], p);
      };
    if (kernel == "copy")
      return [](const Views &o, const Views &r, ThreadPool &p) {
        cpu::copy(reshaped(o[0], r[0].shape), r[0], p);
      };
    return [](const Views &o, const Views &r, ThreadPool &p) {
      cpu::broadcastTo(o[0], r[0], p);
    };
  }
  if (kernel == "dropout") {
    expectArity(inst, 2, 1);
    float ratio = static_cast<float>(attrs.number("ratio"));
    uint64_t seed = static_cast<uint64_t>(attrs.integer("seed"));
    // A block of a tensor split over a group draws its block of the mask.
    Communicator *split = nullptr;
    if (std::optional<std::string> group = attrs.optionalStr("split_group")) {
      auto it = groups.find(*group);
      if (it == groups.end() || !it->second)
        throw Error("dropout needs the communicator of group '" + *group +
                    "', and this run has none");
      split = it->second;
    }
    return [ratio, seed, split](const Views &o, const Views &r, ThreadPool &p) {
      // A step (optional) selects a fresh stream per training step.
      uint64_t step = o[1].data ? static_cast<uint64_t>(o[1].as<int64_t>()[0]) : 0;
      uint64_t offset = split ? static_cast<uint64_t>(split->rank()) *
                                    static_cast<uint64_t>(r[0].numel())
                              : 0;
      cpu::dropout(o[0], r[0], ratio, cpu::dropoutStreamSeed(seed, step), p,
                   offset);
    };
  }
  if (kernel == "matmul") {
    expectArity(inst, 2, 1);
    bool ta = attrs.integer("transpose_lhs"), tb = attrs.integer("transpose_rhs");
    return [ta, tb](const Views &o, const Views &r, ThreadPool &p) {
      cpu::matmul(o[0], o[1], r[0], ta, tb, p);
    };
  }
  if (kernel == "linear") {
    expectArity(inst, 3, 1);
    bool inOut = attrs.integer("weight_in_out");
    return [inOut](const Views &o, const Views &r, ThreadPool &p) {
      cpu::linear(o[0], o[1], o[2], r[0], inOut, p);
    };
  }
  if (kernel == "attention") {
    expectArity(inst, 4, 1);
    bool causal = attrs.integer("causal");
    float scale = static_cast<float>(attrs.number("scale"));
    return [causal, scale](const Views &o, const Views &r, ThreadPool &p) {
      cpu::attention(o[0], o[1], o[2], o[3], r[0], causal, scale, p);
    };
  }
  if (kernel == "softmax" || kernel == "log_softmax") {
    expectArity(inst, 1, 1);
    int64_t axis = attrs.integer("axis");
    bool log = kernel == "log_softmax";
    return [axis, log](const Views &o, const Views &r, ThreadPool &p) {
      cpu::softmax(o[0], r[0], axis, log, p);
    };
  }
  if (kernel == "layer_norm") {
    expectArity(inst, 3, 1);
    int64_t axis = attrs.integer("axis");
    float eps = static_cast<float>(attrs.number("epsilon"));
    return [axis, eps](const Views &o, const Views &r, ThreadPool &p) {
      cpu::layerNorm(o[0], o[1], o[2], r[0], o[0].rank() - axis, eps, p);
    };
  }
  if (kernel == "rms_norm") {
    expectArity(inst, 2, 1);
    int64_t axis = attrs.integer("axis");
    float eps = static_cast<float>(attrs.number("epsilon"));
    return [axis, eps](const Views &o, const Views &r, ThreadPool &p) {
      cpu::rmsNorm(o[0], o[1], r[0], o[0].rank() - axis, eps, p);
    };
  }
  if (kernel == "transpose") {
    expectArity(inst, 1, 1);
    std::vector<int64_t> perm = attrs.ints("permutation");
    return [perm](const Views &o, const Views &r, ThreadPool &p) {
      cpu::transpose(o[0], r[0], perm, p);
    };
  }
  if (kernel == "slice") {
    expectArity(inst, 1, 1);
    std::vector<int64_t> start = attrs.ints("start"),
                         stride = attrs.ints("stride");
    return [start, stride](const Views &o, const Views &r, ThreadPool &p) {
      cpu::slice(o[0], r[0], start, stride, p);
    };
  }
  if (kernel == "split") {
    expectArity(inst, 1, inst.results() ? inst.results()->size() : 0);
    if (!inst.results() || inst.results()->size() == 0)
      throw Error("split needs at least one result");
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, ThreadPool &p) {
      std::vector<int64_t> start(o[0].rank(), 0), stride(o[0].rank(), 1);
      for (const TensorView &piece : r) {
        cpu::slice(o[0], piece, start, stride, p);
        start[axis] += piece.shape[axis];
      }
    };
  }
  if (kernel == "concat") {
    expectArity(inst, operandCount(inst), 1);
    if (!inst.operands() || inst.operands()->size() == 0)
      throw Error("concat needs at least one operand");
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, ThreadPool &p) {
      cpu::concat(o, r[0], axis, p);
    };
  }
  if (kernel == "gather") {
    expectArity(inst, 2, 1);
    int64_t axis = attrs.integer("axis");
    return [axis](const Views &o, const Views &r, ThreadPool &p) {
      cpu::gather(o[0], o[1], r[0], axis, p);
    };
  }
  if (kernel == "cumsum") {
    expectArity(inst, 1, 1);
    int64_t axis = attrs.integer("axis");
    bool exclusive = attrs.integer("exclusive"), reverse = attrs.integer("reverse");
    return [=](const Views &o, const Views &r, ThreadPool &p) {
      cpu::cumsum(o[0], r[0], axis, exclusive, reverse, p);
    };
  }
  if (kernel == "scatter_add") {
    expectArity(inst, 2, 1);
    int64_t axis = attrs.integer("axis");
    std::optional<int64_t> skip = attrs.optionalInteger("skip_index");
    return [axis, skip](const Views &o, const Views &r, ThreadPool &p) {
      cpu::scatterAdd(o[0], o[1], r[0], axis, p, skip);
    };
  }
  if (kernel == "cross_entropy" || kernel == "cross_entropy_grad") {
    // An optional last operand is the count to divide by.
    bool grad = kernel == "cross_entropy_grad";
    size_t fixed = grad ? 3 : 2;
    bool counted = operandCount(inst) == fixed + 1;
    expectArity(inst, counted ? fixed + 1 : fixed, 1);
    int64_t ignore = attrs.integer("ignore_index");
    double smoothing = attrs.number("label_smoothing");
    if (grad)
      return [=](const Views &o, const Views &r, ThreadPool &p) {
        cpu::crossEntropyGrad(o[0], o[1], o[2], counted ? &o[3] : nullptr,
                              r[0], ignore, smoothing, p);
      };
    return [=](const Views &o, const Views &r, ThreadPool &p) {
      cpu::crossEntropy(o[0], o[1], counted ? &o[2] : nullptr, r[0], ignore,
                        smoothing, p);
    };
  }
  if (kernel == "linear_cross_entropy") {
    bool counted = operandCount(inst) == 4;
    expectArity(inst, counted ? 4 : 3, 3);
    int64_t ignore = attrs.integer("ignore_index");
    double smoothing = attrs.number("label_smoothing");
    bool inOut = attrs.integer("weight_in_out");
    return [=](const Views &o, const Views &r, ThreadPool &p) {
      cpu::linearCrossEntropy(o[0], o[1], o[2], counted ? &o[3] : nullptr,
                              r[0], r[1], r[2], ignore, smoothing, inOut, p);
    };
  }
  if (kernel == "global_norm") {
    expectArity(inst, operandCount(inst), 1);
    return [](const Views &o, const Views &r, ThreadPool &p) {
      cpu::globalNorm(o, r[0], p);
    };
  }
  if (kernel == "lr_schedule") {
    expectArity(inst, 1, 1);
    cpu::LrScheduleKind kind =
        lookup(kSchedule, attrs.str("schedule"), "learning-rate schedule");
    double lr = attrs.number("lr"), cycles = attrs.number("num_cycles");
    int64_t warmup = attrs.integer("warmup_steps");
    int64_t total = attrs.integer("total_steps");
    return [=](const Views &o, const Views &r, ThreadPool &) {
      cpu::lrSchedule(o[0], r[0], kind, lr, warmup, total, cycles);
    };
  }
  if (kernel == "adamw") {
    expectArity(inst, 8, 3);
    cpu::AdamWConfig config{attrs.number("beta1"), attrs.number("beta2"),
                            attrs.number("epsilon"),
                            attrs.number("weight_decay")};
    return [config](const Views &o, const Views &r, ThreadPool &p) {
      cpu::adamw({o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]},
                 {r[0], r[1], r[2]}, config, p);
    };
  }
  if (kernel == "sgd") {
    size_t results = inst.results() ? inst.results()->size() : 0;
    expectArity(inst, 7, results == 2 ? 2 : 1);
    cpu::SgdConfig config{attrs.number("momentum"), attrs.number("dampening"),
                          attrs.number("weight_decay"),
                          attrs.integer("nesterov") != 0};
    return [config](const Views &o, const Views &r, ThreadPool &p) {
      cpu::sgd({o[0], o[1], o[2], o[3], o[4], o[5], o[6]},
               {r[0], r.size() == 2 ? r[1] : TensorView{}}, config, p);
    };
  }
  throw Error("unknown kernel '" + kernel + "'");
}

} // namespace accel::rt
