//===- BucketAllReducePass.cpp - Asynchronous, bucketed all-reduces ------===//
//
// DDP's reducer as a rewrite: the all-reduces of a step, grouped into
// buckets in the order their operands are computed, each started as soon
// as its last tensor exists and waited for just before the first use of
// any of its tensors.
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

/// The earliest op in `block` that reads any result of `ops`, or null.
Operation *firstUse(ArrayRef<AllReduceOp> ops) {
  Operation *first = nullptr;
  for (AllReduceOp op : ops)
    for (Operation *user : op->getUsers()) {
      Operation *inBlock = op->getBlock()->findAncestorOpInBlock(*user);
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
    addBeforeReducing();
    const int64_t cap = static_cast<int64_t>(bucketMb * 1048576.0);
    // Tensor all-reduces in program order.
    SmallVector<AllReduceOp> ops;
    getOperation().walk([&](AllReduceOp op) {
      auto type = op.getType();
      if (type.getRank() > 0 && isa<FloatType>(type.getElementType()) &&
          !op->use_empty())
        ops.push_back(op);
    });
    // Cut into buckets. One whose result is read before the next is
    // computed (an embedding's position gradient, scattered further) goes
    // alone, so that it does not make a whole bucket wait early; a bucket
    // also closes when one of its tensors is read before the next one.
    std::vector<SmallVector<AllReduceOp>> buckets;
    int64_t bytes = 0;
    auto sameKind = [](AllReduceOp a, AllReduceOp b) {
      return a.getGroup() == b.getGroup() &&
             a.getReduction() == b.getReduction() &&
             a.getType().getElementType() == b.getType().getElementType();
    };
    SmallVector<AllReduceOp> open;
    auto close = [&] {
      if (!open.empty())
        buckets.push_back(std::move(open));
      open.clear();
      bytes = 0;
    };
    for (auto [i, op] : llvm::enumerate(ops)) {
      bool readEarly = i + 1 < ops.size() &&
                       firstUse({op})->isBeforeInBlock(ops[i + 1]);
      if (readEarly) {
        buckets.push_back({op});
        continue;
      }
      Operation *use = open.empty() ? nullptr : firstUse(open);
      if (cap == 0 || (!open.empty() && !sameKind(open.front(), op)) ||
          (use && use->isBeforeInBlock(op)))
        close();
      open.push_back(op);
      bytes += tensorBytes(op.getType());
      if (bytes >= cap)
        close();
    }
    close();
    for (SmallVector<AllReduceOp> &bucket : buckets)
      rewrite(bucket);
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

  /// Starts `bucket` after its last all-reduce and waits before the first
  /// use of any of its results.
  void rewrite(ArrayRef<AllReduceOp> bucket) {
    AllReduceOp last = bucket.back();
    Location loc = last.getLoc();
    Operation *use = firstUse(bucket);
    OpBuilder b(last);
    b.setInsertionPointAfter(last);
    Value sent;
    if (bucket.size() == 1) {
      sent = last.getOperand();
    } else {
      SmallVector<Value> flat;
      for (AllReduceOp op : bucket) {
        auto type = op.getType();
        flat.push_back(ReshapeOp::create(
            b, loc, RankedTensorType::get({type.getNumElements()},
                                          type.getElementType()),
            op.getOperand()));
      }
      sent = ConcatOp::create(b, loc, flat, b.getI64IntegerAttr(0));
    }
    Value started = AllReduceStartOp::create(b, loc, sent, last.getGroupAttr(),
                                             last.getReductionAttr());
    b.setInsertionPoint(use);
    Value done = WaitOp::create(b, loc, started);
    if (bucket.size() == 1) {
      last.getResult().replaceAllUsesWith(done);
      last.erase();
      return;
    }
    SmallVector<Type> pieces;
    for (AllReduceOp op : bucket)
      pieces.push_back(RankedTensorType::get({op.getType().getNumElements()},
                                             op.getType().getElementType()));
    auto split = SplitOp::create(b, loc, pieces, done, b.getI64IntegerAttr(0));
    for (auto [i, piece] : llvm::enumerate(split.getResults())) {
      AllReduceOp op = bucket[i];
      op.getResult().replaceAllUsesWith(
          ReshapeOp::create(b, loc, op.getType(), piece).getResult());
      op.erase();
    }
  }
};

} // namespace
