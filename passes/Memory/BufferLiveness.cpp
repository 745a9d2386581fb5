//===- BufferLiveness.cpp - Which tensors hold arena bytes, and when -----===//
#include "passes/Memory/BufferLiveness.h"
#include "dialects/Accel/AccelOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace accel;

namespace {

constexpr int64_t kForever = BufferLifetime::kForever;
constexpr int64_t kAlignment = 64;

int64_t alignedBytes(RankedTensorType type) {
  int64_t bytes = tensorBytes(type);
  return std::max<int64_t>((bytes + kAlignment - 1) / kAlignment * kAlignment,
                           kAlignment);
}

/// Results that replace a parameter or optimizer state ({accel.update})
/// and may be written over it: their op can write in place
/// (InPlaceOpInterface), its tied operand is that very argument, and nothing
/// reads the argument after the op.
DenseSet<Value> inPlaceUpdates(func::FuncOp func,
                               const DenseMap<Operation *, int64_t> &order) {
  DenseMap<StringAttr, BlockArgument> stateArgs;
  for (BlockArgument arg : func.getArguments())
    for (StringRef attr : {kParamAttr, kStateAttr})
      if (auto name =
              func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attr))
        stateArgs[name] = arg;
  DenseSet<Value> inPlace;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(i, kUpdateAttr);
    auto result = dyn_cast<OpResult>(value);
    auto op =
        result ? dyn_cast<InPlaceOpInterface>(result.getOwner()) : nullptr;
    if (!name || !op || !stateArgs.count(name))
      continue;
    BlockArgument arg = stateArgs[name];
    if (op.getTiedOperand(result.getResultNumber()) != arg)
      continue;
    int64_t when = order.lookup(op);
    bool readLater = llvm::any_of(arg.getUsers(), [&](Operation *user) {
      return user != op.getOperation() && order.lookup(user) >= when;
    });
    if (!readLater && !inPlace.contains(result))
      inPlace.insert(result);
  }
  return inPlace;
}

} // namespace

FailureOr<BufferLiveness> accel::analyzeBufferLiveness(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return func.emitOpError("accel-plan-buffers expects a single-block body");
  Block &block = func.getBody().front();

  // Program order, and when each value is last read directly.
  BufferLiveness liveness;
  DenseMap<Operation *, int64_t> &order = liveness.order;
  int64_t index = 0;
  for (Operation &op : block) {
    order[&op] = index++;
    for (Value result : op.getResults()) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type || !type.hasStaticShape()) {
        op.emitOpError("result type ")
            << result.getType() << " needs a static shape for memory planning";
        return failure();
      }
    }
  }
  auto lastReader = [&](Value v) {
    int64_t last = -1;
    for (Operation *user : v.getUsers())
      last = std::max(last, isa<func::ReturnOp>(user) ? kForever : order[user]);
    return last;
  };

  // Each value's storage root: reshapes share their operand's bytes, and
  // an op that may write over an operand (InPlaceOpInterface) does so when
  // that operand's bytes are read by nothing after it.
  DenseMap<Value, Value> root;
  DenseMap<Value, SmallVector<Value>> sharing; // root -> values on it
  for (Operation &op : block) {
    for (Value result : op.getResults()) {
      root[result] = result;
      sharing[result].push_back(result);
    }
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      Value operand = reshape.getOperand();
      Value r = root.lookup(operand) ? root[operand] : operand;
      root[reshape.getResult()] = r;
      sharing[r].push_back(reshape.getResult());
      continue;
    }
    auto inPlaceOp = dyn_cast<InPlaceOpInterface>(op);
    if (!inPlaceOp)
      continue;
    int64_t now = order[&op];
    for (OpResult result : op.getResults()) {
      Value tied = inPlaceOp.getTiedOperand(result.getResultNumber());
      Value r = tied ? root.lookup(tied) : Value();
      // Only arena buffers of the same size, last read here.
      if (!r || !isa<OpResult>(r) || isa<ConstantOp>(r.getDefiningOp()) ||
          alignedBytes(cast<RankedTensorType>(r.getType())) !=
              alignedBytes(cast<RankedTensorType>(result.getType())))
        continue;
      bool readLater = llvm::any_of(
          sharing[r], [&](Value v) { return lastReader(v) > now; });
      bool claimed = llvm::any_of(op.getResults(), [&](Value other) {
        return other != result && root.lookup(other) == r;
      });
      if (readLater || claimed)
        continue;
      root[result] = r;
      sharing[r].push_back(result);
    }
  }

  DenseSet<Value> inPlace = inPlaceUpdates(func, order);

  // A root's buffer lives until the last use of any value sharing it.
  DenseMap<Value, int64_t> lastUse;
  for (Operation &op : block)
    for (Value result : op.getResults())
      for (Operation *user : result.getUsers()) {
        int64_t when = isa<func::ReturnOp>(user) ? kForever : order[user];
        int64_t &last = lastUse[root[result]];
        last = std::max(last, when);
      }

  // The results that own a buffer, with its lifetime.
  for (Operation &op : block) {
    if (isa<ConstantOp>(op))
      continue;
    int64_t now = order[&op];
    for (Value result : op.getResults()) {
      if (root[result] != result || inPlace.contains(result))
        continue;
      // A result nobody reads dies right after its op.
      int64_t last = lastUse.count(result) ? lastUse[result] : now;
      liveness.buffers[result] = {
          alignedBytes(cast<RankedTensorType>(result.getType())), now, last};
    }
  }
  return liveness;
}
