//===- BucketAllReducePass.cpp - Asynchronous, bucketed gradient reductions -===//
//
// DDP's reducer (and ZeRO's bucketed reduce-scatter) as a rewrite: the
// gradient reductions of a step, grouped into buckets in the order their
// operands are computed, each started as soon as its last tensor exists
// and waited for just before the first use of any of its results (or,
// with `wait-early`, before the next bucket starts).
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"

namespace accel {
#define GEN_PASS_DEF_BUCKETALLREDUCEPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// An all-reduce or a reduce-scatter of one tensor.
struct Reduction_ {
  Operation *op;
  bool scatter() const { return isa<ReduceScatterOp>(op); }
  Value operand() const { return op->getOperand(0); }
  Value result() const { return op->getResult(0); }
  RankedTensorType type() const {
    return cast<RankedTensorType>(operand().getType());
  }
  StringAttr group() const { return op->getAttrOfType<StringAttr>("group"); }
  ReductionAttr kind() const {
    return op->getAttrOfType<ReductionAttr>("reduction");
  }
  /// Ranks in the group, as the shapes say (a reduce-scatter's blocks).
  int64_t blocks() const {
    return scatter() ? type().getDimSize(0) /
                           cast<RankedTensorType>(result().getType()).getDimSize(0)
                     : 1;
  }
};

/// The op in `block` after which `v` exists (null: at the block's start).
Operation *readyAfter(Value v, Block *block) {
  Operation *def = v.getDefiningOp();
  return def ? block->findAncestorOpInBlock(*def) : nullptr;
}

bool before(Operation *a, Operation *b) {
  return !a ? b != nullptr : b && a->isBeforeInBlock(b);
}

/// The earliest op in the block that reads any result of `bucket`.
Operation *firstUse(ArrayRef<Reduction_> bucket) {
  Operation *first = nullptr;
  for (const Reduction_ &r : bucket)
    for (Operation *user : r.result().getUsers()) {
      Operation *inBlock = r.op->getBlock()->findAncestorOpInBlock(*user);
      if (inBlock && (!first || inBlock->isBeforeInBlock(first)))
        first = inBlock;
    }
  return first;
}

struct BucketAllReducePass
    : accel::impl::BucketAllReducePassBase<BucketAllReducePass> {
  using BucketAllReducePassBase::BucketAllReducePassBase;

  void runOnOperation() override {
    if (bucketMb < 0) {
      getOperation().emitError("accel-bucket-all-reduce: bucket-mb must not "
                               "be negative, not ")
          << bucketMb;
      return signalPassFailure();
    }
    lastStart = pendingWait = nullptr;
    addBeforeReducing();
    const int64_t cap = static_cast<int64_t>(bucketMb * 1048576.0);
    // Reductions of float tensors, in the order their operands exist.
    SmallVector<Reduction_> ops;
    getOperation().walk([&](Operation *op) {
      if (!isa<AllReduceOp, ReduceScatterOp>(op) || op->use_empty())
        return;
      Reduction_ r{op};
      if (r.type().getRank() > 0 && isa<FloatType>(r.type().getElementType()))
        ops.push_back(r);
    });
    if (ops.empty())
      return;
    Block *block = ops.front().op->getBlock();
    llvm::stable_sort(ops, [&](const Reduction_ &a, const Reduction_ &b) {
      return before(readyAfter(a.operand(), block),
                    readyAfter(b.operand(), block));
    });
    // Cut into buckets. One whose result is read before the next operand
    // exists (an embedding's position gradient, scattered further) goes
    // alone, so that it does not make a whole bucket wait early; a bucket
    // also closes when one of its results is read before the next one.
    std::vector<SmallVector<Reduction_>> buckets;
    int64_t bytes = 0;
    auto sameKind = [](const Reduction_ &a, const Reduction_ &b) {
      return a.scatter() == b.scatter() && a.blocks() == b.blocks() &&
             a.group() == b.group() && a.kind() == b.kind() &&
             a.type().getElementType() == b.type().getElementType();
    };
    SmallVector<Reduction_> open;
    auto close = [&] {
      if (!open.empty())
        buckets.push_back(std::move(open));
      open.clear();
      bytes = 0;
    };
    for (auto [i, r] : llvm::enumerate(ops)) {
      Operation *next =
          i + 1 < ops.size() ? readyAfter(ops[i + 1].operand(), block) : nullptr;
      if (next && before(firstUse({r}), next)) {
        buckets.push_back({r});
        continue;
      }
      Operation *use = open.empty() ? nullptr : firstUse(open);
      Operation *ready = readyAfter(r.operand(), block);
      if (cap == 0 || (!open.empty() && !sameKind(open.front(), r)) ||
          (use && before(use, ready)))
        close();
      open.push_back(r);
      bytes += tensorBytes(r.type());
      if (bytes >= cap)
        close();
    }
    close();
    for (SmallVector<Reduction_> &bucket : buckets)
      rewrite(bucket, block);
  }

  /// all_reduce(a) + all_reduce(b) = all_reduce(a + b) for sums on one
  /// group: a tied embedding's two gradient parts then cost one
  /// all-reduce, not two.
  void addBeforeReducing() {
    getOperation().walk([&](AddOp add) {
      auto lhs = add.getLhs().getDefiningOp<AllReduceOp>();
      auto rhs = add.getRhs().getDefiningOp<AllReduceOp>();
      if (!lhs || !rhs || lhs == rhs || !lhs->hasOneUse() || !rhs->hasOneUse() ||
          lhs.getGroup() != rhs.getGroup() ||
          lhs.getReduction() != Reduction::Sum ||
          rhs.getReduction() != Reduction::Sum ||
          lhs.getType() != add.getType() || rhs.getType() != add.getType())
        return;
      OpBuilder b(add);
      Value sum = AddOp::create(b, add.getLoc(), lhs.getOperand(), rhs.getOperand());
      add.getResult().replaceAllUsesWith(AllReduceOp::create(
          b, add.getLoc(), sum, lhs.getGroupAttr(), lhs.getReductionAttr()));
      add.erase();
      lhs.erase();
      rhs.erase();
    });
  }

  /// Packs `bucket` once its last operand exists, starts the collective,
  /// and waits before the first use of any of its results (or, with
  /// wait-early, before the next bucket is packed).
  void rewrite(ArrayRef<Reduction_> bucket, Block *block) {
    Location loc = bucket.back().op->getLoc();
    Operation *ready = nullptr;
    for (const Reduction_ &r : bucket)
      if (Operation *at = readyAfter(r.operand(), block); before(ready, at))
        ready = at;
    // After the previous bucket's start, which may follow the same op.
    if (before(ready, lastStart))
      ready = lastStart;
    Operation *use = firstUse(bucket);
    OpBuilder b(block, ready ? std::next(Block::iterator(ready))
                             : block->begin());
    if (pendingWait) {
      // wait-early: the previous bucket completes before this one is
      // packed, so at most one bucket of whole gradients is held.
      if (before(&*b.getInsertionPoint(), pendingWait))
        pendingWait->moveBefore(block, b.getInsertionPoint());
      pendingWait = nullptr;
    }
    const Reduction_ &first = bucket.front();
    bool scatter = first.scatter();
    int64_t p = first.blocks();
    Type element = first.type().getElementType();
    // Pack: all-reduce buckets are flat concatenations; a reduce-scatter
    // bucket is [p, n] with row r holding block r of every tensor, so that
    // each rank's block of the bucket is its block of each tensor.
    auto packedType = [&](const Reduction_ &r) {
      int64_t n = r.type().getNumElements();
      return scatter ? RankedTensorType::get({p, n / p}, element)
                     : RankedTensorType::get({n}, element);
    };
    Value sent;
    if (bucket.size() == 1) {
      sent = first.operand();
    } else {
      SmallVector<Value> packed;
      for (const Reduction_ &r : bucket)
        packed.push_back(ReshapeOp::create(b, loc, packedType(r), r.operand()));
      sent = ConcatOp::create(b, loc, packed, b.getI64IntegerAttr(scatter));
    }
    Value started, done;
    if (scatter) {
      auto whole = cast<RankedTensorType>(sent.getType());
      SmallVector<int64_t> block(whole.getShape());
      block[0] /= p;
      started = ReduceScatterStartOp::create(
          b, loc, RankedTensorType::get(block, element), sent, first.group(),
          first.kind());
      b.setInsertionPoint(use);
      done = WaitOp::create(b, loc, started, ValueRange{sent});
    } else {
      started = AllReduceStartOp::create(b, loc, sent, first.group(),
                                         first.kind());
      b.setInsertionPoint(use);
      done = WaitOp::create(b, loc, started, ValueRange{});
    }
    lastStart = started.getDefiningOp();
    if (waitEarly)
      pendingWait = done.getDefiningOp();
    if (bucket.size() == 1) {
      first.result().replaceAllUsesWith(done);
      first.op->erase();
      return;
    }
    SmallVector<Type> pieces;
    for (const Reduction_ &r : bucket) {
      RankedTensorType t = packedType(r);
      pieces.push_back(scatter ? RankedTensorType::get({1, t.getDimSize(1)}, element)
                               : t);
    }
    auto split = SplitOp::create(b, loc, pieces, done,
                                 b.getI64IntegerAttr(scatter));
    for (auto [i, piece] : llvm::enumerate(split.getResults())) {
      const Reduction_ &r = bucket[i];
      r.result().replaceAllUsesWith(
          ReshapeOp::create(b, loc, r.result().getType(), piece).getResult());
      r.op->erase();
    }
  }

  Operation *lastStart = nullptr, *pendingWait = nullptr;
};

} // namespace
