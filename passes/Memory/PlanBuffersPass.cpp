//===- PlanBuffersPass.cpp - Liveness-based arena planning ---------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Memory/Passes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <limits>
#include <map>

namespace accel {
#define GEN_PASS_DEF_PLANBUFFERSPASS
#include "passes/Memory/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

constexpr int64_t kAlignment = 64;
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

int64_t alignedBytes(RankedTensorType type) {
  int64_t bytes = tensorBytes(type);
  return std::max<int64_t>((bytes + kAlignment - 1) / kAlignment * kAlignment,
                           kAlignment);
}

/// First-fit allocator over one arena; freed blocks merge with neighbours.
class Arena {
public:
  int64_t allocate(int64_t size) {
    for (auto it = free.begin(); it != free.end(); ++it) {
      if (it->second < size)
        continue;
      int64_t offset = it->first, left = it->second - size;
      free.erase(it);
      if (left)
        free[offset + size] = left;
      return offset;
    }
    // Grow: reuse a free block that ends at the top.
    int64_t offset = top;
    if (!free.empty()) {
      auto last = std::prev(free.end());
      if (last->first + last->second == top) {
        offset = last->first;
        free.erase(last);
      }
    }
    top = offset + size;
    return offset;
  }

  void release(int64_t offset, int64_t size) {
    auto next = free.lower_bound(offset);
    if (next != free.end() && offset + size == next->first) {
      size += next->second;
      next = free.erase(next);
    }
    if (next != free.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        prev->second += size;
        return;
      }
    }
    free[offset] = size;
  }

  int64_t size() const { return top; }

private:
  std::map<int64_t, int64_t> free; // offset -> size
  int64_t top = 0;
};

/// Results that replace a parameter or optimizer state ({accel.update})
/// and may be written over it: their op can write in place
/// (InPlaceOpInterface), its tied operand is that very argument, and nothing
/// reads the argument after the op.
DenseSet<Value> inPlaceUpdates(func::FuncOp func,
                               const DenseMap<Operation *, int64_t> &order) {
  DenseMap<StringAttr, BlockArgument> stateArgs;
  for (BlockArgument arg : func.getArguments())
    for (StringRef attr : {kParamAttr, kStateAttr})
      if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), attr))
        stateArgs[name] = arg;
  DenseSet<Value> inPlace;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(i, kUpdateAttr);
    auto result = dyn_cast<OpResult>(value);
    auto op = result ? dyn_cast<InPlaceOpInterface>(result.getOwner()) : nullptr;
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

struct PlanBuffersPass
    : accel::impl::PlanBuffersPassBase<PlanBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func.getBody().hasOneBlock()) {
      func.emitOpError("accel-plan-buffers expects a single-block body");
      return signalPassFailure();
    }
    Block &block = func.getBody().front();

    // Program order, and when each value is last read directly.
    DenseMap<Operation *, int64_t> order;
    int64_t index = 0;
    for (Operation &op : block) {
      order[&op] = index++;
      for (Value result : op.getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type || !type.hasStaticShape()) {
          op.emitOpError("result type ")
              << result.getType()
              << " needs a static shape for memory planning";
          return signalPassFailure();
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
        bool readLater = llvm::any_of(sharing[r], [&](Value v) {
          return lastReader(v) > now;
        });
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

    // Walk in order: release what died before this op, then allocate.
    Arena arena;
    std::multimap<int64_t, std::pair<int64_t, int64_t>> dying; // last -> block
    DenseMap<Value, int64_t> offsetOf;
    Builder b(&getContext());
    for (Operation &op : block) {
      if (op.getNumResults() == 0)
        continue;
      int64_t now = order[&op];
      while (!dying.empty() && dying.begin()->first < now) {
        arena.release(dying.begin()->second.first,
                      dying.begin()->second.second);
        dying.erase(dying.begin());
      }
      SmallVector<int64_t> offsets;
      for (Value result : op.getResults()) {
        bool ownsBuffer = root[result] == result && !isa<ConstantOp>(op) &&
                          !inPlace.contains(result);
        if (!ownsBuffer) {
          offsets.push_back(-1);
          continue;
        }
        int64_t size = alignedBytes(cast<RankedTensorType>(result.getType()));
        int64_t offset = arena.allocate(size);
        offsets.push_back(offset);
        // A result nobody reads dies right after its op.
        int64_t last = lastUse.count(result) ? lastUse[result] : now;
        if (last != kForever)
          dying.insert({last, {offset, size}});
      }
      if (!isa<ConstantOp>(op))
        op.setAttr(kOffsetsAttr, b.getDenseI64ArrayAttr(offsets));
    }
    func->setAttr(kArenaSizeAttr, b.getI64IntegerAttr(arena.size()));
  }
};

} // namespace
