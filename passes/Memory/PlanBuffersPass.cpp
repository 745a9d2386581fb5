//===- PlanBuffersPass.cpp - Liveness-based arena planning ---------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Memory/BufferLiveness.h"
#include "passes/Memory/Passes.h"

#include <map>

namespace accel {
#define GEN_PASS_DEF_PLANBUFFERSPASS
#include "passes/Memory/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

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

/// A placement: each buffer's offset, and the arena's size.
struct Placement {
  DenseMap<Value, int64_t> offsets;
  int64_t size = 0;
};

/// First fit in program order: release what died before an op, then
/// allocate its results.
Placement placeInOrder(func::FuncOp func, const BufferLiveness &liveness) {
  Placement p;
  Arena arena;
  std::multimap<int64_t, std::pair<int64_t, int64_t>> dying; // last -> block
  for (Operation &op : func.getBody().front()) {
    int64_t now = liveness.order.lookup(&op);
    while (!dying.empty() && dying.begin()->first < now) {
      arena.release(dying.begin()->second.first, dying.begin()->second.second);
      dying.erase(dying.begin());
    }
    for (Value result : op.getResults()) {
      auto buffer = liveness.buffers.find(result);
      if (buffer == liveness.buffers.end())
        continue;
      const BufferLifetime &life = buffer->second;
      int64_t offset = arena.allocate(life.size);
      p.offsets[result] = offset;
      if (life.last != BufferLifetime::kForever)
        dying.insert({life.last, {offset, life.size}});
    }
  }
  p.size = arena.size();
  return p;
}

/// Largest first: each buffer at the lowest offset free of the buffers
/// already placed whose lifetimes overlap its own (the offline greedy
/// placement of TFLite's planner), which packs large tensors of a
/// training step tighter than program order does.
Placement placeBySize(func::FuncOp func, const BufferLiveness &liveness) {
  struct Item {
    Value value;
    BufferLifetime life;
  };
  // In program order, so that equal sizes keep it (stable sort).
  std::vector<Item> items;
  for (Operation &op : func.getBody().front())
    for (Value result : op.getResults())
      if (auto it = liveness.buffers.find(result); it != liveness.buffers.end())
        items.push_back({result, it->second});
  llvm::stable_sort(items, [](const Item &a, const Item &b) {
    return a.life.size > b.life.size;
  });
  Placement p;
  std::vector<const Item *> placed;
  std::vector<std::pair<int64_t, int64_t>> taken; // offset, end
  for (const Item &item : items) {
    taken.clear();
    for (const Item *other : placed)
      if (other->life.first <= item.life.last &&
          item.life.first <= other->life.last) {
        int64_t offset = p.offsets[other->value];
        taken.push_back({offset, offset + other->life.size});
      }
    llvm::sort(taken);
    int64_t offset = 0;
    for (auto [begin, end] : taken) {
      if (begin - offset >= item.life.size)
        break;
      offset = std::max(offset, end);
    }
    p.offsets[item.value] = offset;
    p.size = std::max(p.size, offset + item.life.size);
    placed.push_back(&item);
  }
  return p;
}

struct PlanBuffersPass
    : accel::impl::PlanBuffersPassBase<PlanBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    FailureOr<BufferLiveness> liveness = analyzeBufferLiveness(func);
    if (failed(liveness))
      return signalPassFailure();
    // Both placements; the smaller arena wins (program order on ties).
    Placement inOrder = placeInOrder(func, *liveness);
    Placement bySize = placeBySize(func, *liveness);
    const Placement &plan = bySize.size < inOrder.size ? bySize : inOrder;
    Builder b(&getContext());
    for (Operation &op : func.getBody().front()) {
      if (op.getNumResults() == 0 || isa<ConstantOp>(op))
        continue;
      SmallVector<int64_t> offsets;
      for (Value result : op.getResults()) {
        auto it = plan.offsets.find(result);
        offsets.push_back(it == plan.offsets.end() ? -1 : it->second);
      }
      op.setAttr(kOffsetsAttr, b.getDenseI64ArrayAttr(offsets));
    }
    func->setAttr(kArenaSizeAttr, b.getI64IntegerAttr(plan.size));
  }
};

} // namespace
