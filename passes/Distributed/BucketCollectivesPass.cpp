//===- BucketCollectivesPass.cpp - Asynchronous, bucketed gradient reductions -===//
//
// DDP's reducer (and ZeRO's bucketed reduce-scatter and parameter
// all-gather) as a rewrite: the collectives of a step, grouped into
// buckets in the order their operands are computed, each started as soon
// as its last tensor exists and waited for just before the first use of
// any of its results (or, with `wait-early`, a reduction bucket before the
// next one starts).
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace accel {
#define GEN_PASS_DEF_BUCKETCOLLECTIVESPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// An all-reduce, a reduce-scatter or an all-gather of one tensor.
struct Collective {
  Operation *op;
  bool scatter() const { return isa<ReduceScatterOp>(op); }
  bool gather() const { return isa<AllGatherOp>(op); }
  Value operand() const { return op->getOperand(0); }
  Value result() const { return op->getResult(0); }
  RankedTensorType type() const {
    return cast<RankedTensorType>(operand().getType());
  }
  StringAttr group() const { return op->getAttrOfType<StringAttr>("group"); }
  ReductionAttr kind() const {
    return op->getAttrOfType<ReductionAttr>("reduction");
  }
  /// The dim a reduce-scatter splits or an all-gather joins (0 for an
  /// all-reduce).
  int64_t axis() const {
    auto a = op->getAttrOfType<IntegerAttr>("axis");
    return a ? a.getInt() : 0;
  }
  /// Ranks in the group, as the shapes say (the blocks a reduce-scatter
  /// splits into or an all-gather joins).
  int64_t blocks() const {
    auto result = cast<RankedTensorType>(this->result().getType());
    if (scatter())
      return type().getDimSize(axis()) / result.getDimSize(axis());
    if (gather())
      return result.getDimSize(axis()) / type().getDimSize(axis());
    return 1;
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

/// The op in `block` after which every operand of `bucket` exists.
Operation *readyAfter(ArrayRef<Collective> bucket, Block *block) {
  Operation *ready = nullptr;
  for (const Collective &r : bucket)
    if (Operation *at = readyAfter(r.operand(), block); before(ready, at))
      ready = at;
  return ready;
}

/// The earliest op in the block that reads any result of `bucket`.
Operation *firstUse(ArrayRef<Collective> bucket) {
  Operation *first = nullptr;
  for (const Collective &r : bucket)
    for (Operation *user : r.result().getUsers()) {
      Operation *inBlock = r.op->getBlock()->findAncestorOpInBlock(*user);
      if (inBlock && (!first || inBlock->isBeforeInBlock(first)))
        first = inBlock;
    }
  return first;
}

struct BucketCollectivesPass
    : accel::impl::BucketCollectivesPassBase<BucketCollectivesPass> {
  using BucketCollectivesPassBase::BucketCollectivesPassBase;

  void runOnOperation() override {
    if (bucketMb < 0) {
      getOperation().emitError("accel-bucket-collectives: bucket-mb must not "
                               "be negative, not ")
          << bucketMb;
      return signalPassFailure();
    }
    lastStart = nullptr;
    pending.clear();
    addBeforeReducing();
    const int64_t cap = static_cast<int64_t>(bucketMb * 1048576.0);
    // Reductions of float tensors, in the order their operands exist.
    SmallVector<Collective> ops;
    getOperation().walk([&](Operation *op) {
      if (!isa<AllReduceOp, ReduceScatterOp, AllGatherOp>(op) ||
          op->use_empty())
        return;
      Collective r{op};
      if (r.type().getRank() > 0 && isa<FloatType>(r.type().getElementType()))
        ops.push_back(r);
    });
    if (ops.empty())
      return;
    Block *block = ops.front().op->getBlock();
    llvm::stable_sort(ops, [&](const Collective &a, const Collective &b) {
      return before(readyAfter(a.operand(), block),
                    readyAfter(b.operand(), block));
    });
    // Cut into buckets. One whose result is read before the next operand
    // exists (an embedding's position gradient, scattered further) goes
    // alone, so that it does not make a whole bucket wait early; a bucket
    // also closes when one of its results is read before the next one.
    std::vector<SmallVector<Collective>> buckets;
    int64_t bytes = 0;
    auto sameKind = [](const Collective &a, const Collective &b) {
      return a.op->getName() == b.op->getName() && a.blocks() == b.blocks() &&
             a.group() == b.group() && a.kind() == b.kind() &&
             a.type().getElementType() == b.type().getElementType();
    };
    SmallVector<Collective> open;
    auto close = [&] {
      if (!open.empty())
        buckets.push_back(std::move(open));
      open.clear();
      bytes = 0;
    };
    for (auto [i, r] : llvm::enumerate(ops)) {
      Operation *next =
          i + 1 < ops.size() ? readyAfter(ops[i + 1].operand(), block) : nullptr;
      // Packing joins tensors along dim 0: one split along another dim
      // goes alone.
      if ((next && before(firstUse({r}), next)) || r.axis() != 0) {
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
    // A bucket that went alone is cut before the open one closes: start
    // them in the order they become ready, as every rank must.
    llvm::stable_sort(buckets, [&](const auto &a, const auto &b) {
      return before(readyAfter(a, block), readyAfter(b, block));
    });
    for (SmallVector<Collective> &bucket : buckets)
      rewrite(bucket, block);
  }

  /// all_reduce(a) + all_reduce(b) = all_reduce(a + b) for sums on one
  /// group, also when both reach the add through the same ops linear in
  /// them (f(all_reduce(a)) + f(all_reduce(b)) = f(all_reduce(a + b)) for
  /// reshapes and scatter-adds into one table at the same indices): a tied
  /// embedding's two gradient parts then cost one all-reduce, not two, and
  /// accumulated micro-batches (a position table's gradient rows, reduced
  /// before they are scattered) reduce once per step.
  void addBeforeReducing() {
    SmallVector<AddOp> adds;
    getOperation().walk([&](AddOp add) { adds.push_back(add); });
    for (AddOp add : adds) {
      SmallVector<Operation *> lhsChain, rhsChain;
      AllReduceOp lhs = reducedThroughLinear(add.getLhs(), lhsChain);
      AllReduceOp rhs = reducedThroughLinear(add.getRhs(), rhsChain);
      if (!lhs || !rhs || lhs == rhs || lhs.getGroup() != rhs.getGroup() ||
          lhs.getReduction() != Reduction::Sum ||
          rhs.getReduction() != Reduction::Sum ||
          lhs.getType() != rhs.getType() ||
          add.getLhs().getType() != add.getType() ||
          add.getRhs().getType() != add.getType() ||
          !sameChain(lhsChain, rhsChain))
        continue;
      OpBuilder b(add);
      Value sum =
          AddOp::create(b, add.getLoc(), lhs.getOperand(), rhs.getOperand());
      Value v = AllReduceOp::create(b, add.getLoc(), sum, lhs.getGroupAttr(),
                                    lhs.getReductionAttr());
      for (Operation *op : llvm::reverse(lhsChain)) {
        IRMapping map;
        map.map(op->getOperand(0), v);
        v = b.clone(*op, map)->getResult(0);
      }
      add.getResult().replaceAllUsesWith(v);
      add.erase();
      for (SmallVector<Operation *> *chain : {&lhsChain, &rhsChain})
        for (Operation *op : *chain)
          op->erase();
      lhs.erase();
      rhs.erase();
    }
  }

  /// The sum all-reduce `v` is made from through ops linear in their first
  /// operand (reshape, scatter_add's updates), each used once; `chain`
  /// gets those ops, from `v`'s own up.
  static AllReduceOp reducedThroughLinear(Value v,
                                          SmallVectorImpl<Operation *> &chain) {
    while (Operation *def = v.getDefiningOp()) {
      if (!def->hasOneUse())
        return {};
      if (auto reduce = dyn_cast<AllReduceOp>(def))
        return reduce;
      if (!isa<ReshapeOp, ScatterAddOp>(def))
        return {};
      chain.push_back(def);
      v = def->getOperand(0);
    }
    return {};
  }

  /// Whether two chains apply the same linear map: same ops, attributes and
  /// types, scatter-adds at the same indices.
  static bool sameChain(ArrayRef<Operation *> a, ArrayRef<Operation *> b) {
    if (a.size() != b.size())
      return false;
    for (auto [x, y] : llvm::zip(a, b))
      if (x->getName() != y->getName() || x->getAttrs() != y->getAttrs() ||
          x->getResultTypes() != y->getResultTypes() ||
          x->getNumOperands() != y->getNumOperands() ||
          !llvm::equal(llvm::drop_begin(x->getOperands()),
                       llvm::drop_begin(y->getOperands())))
        return false;
    return true;
  }

  /// Packs `bucket` once its last operand exists, starts the collective,
  /// and waits before the first use of any of its results (or, with
  /// wait-early, before the next bucket is packed).
  void rewrite(ArrayRef<Collective> bucket, Block *block) {
    Location loc = bucket.back().op->getLoc();
    Operation *ready = readyAfter(bucket, block);
    // After the previous bucket's start, which may follow the same op.
    if (before(ready, lastStart))
      ready = lastStart;
    Operation *use = firstUse(bucket);
    OpBuilder b(block, ready ? std::next(Block::iterator(ready))
                             : block->begin());
    if (!pending.empty()) {
      // The previous bucket completes (and is unpacked) before this one is
      // packed, so one bucket is held at a time: gradients under wait-early
      // (ZeRO-2), gathered parameters always (they wait for the end).
      if (before(&*b.getInsertionPoint(), pending.front()))
        for (Operation *op : pending)
          op->moveBefore(block, b.getInsertionPoint());
      pending.clear();
    }
    const Collective &first = bucket.front();
    bool scatter = first.scatter(), gather = first.gather();
    int64_t p = first.blocks();
    Type element = first.type().getElementType();
    // Pack: all-reduce and all-gather buckets are flat concatenations (a
    // gathered bucket is then every rank's concatenation, in rank order);
    // a reduce-scatter bucket is [p, n] with row r holding block r of every
    // tensor, so that each rank's block of the bucket is its block of each.
    auto packedType = [&](const Collective &r) {
      int64_t n = r.type().getNumElements();
      return scatter ? RankedTensorType::get({p, n / p}, element)
                     : RankedTensorType::get({n}, element);
    };
    Value sent;
    if (bucket.size() == 1) {
      sent = first.operand();
    } else {
      SmallVector<Value> packed;
      for (const Collective &r : bucket)
        packed.push_back(ReshapeOp::create(b, loc, packedType(r), r.operand()));
      sent = ConcatOp::create(b, loc, packed, b.getI64IntegerAttr(scatter));
    }
    Value started, done;
    auto whole = cast<RankedTensorType>(sent.getType());
    SmallVector<int64_t> shape(whole.getShape());
    if (scatter || gather) {
      int64_t axis = first.axis();
      shape[axis] = scatter ? shape[axis] / p : shape[axis] * p;
      auto type = RankedTensorType::get(shape, element);
      IntegerAttr axisAttr = b.getI64IntegerAttr(axis);
      started = scatter ? ReduceScatterStartOp::create(b, loc, type, sent,
                                                       first.group(),
                                                       first.kind(), axisAttr)
                              .getResult()
                        : AllGatherStartOp::create(b, loc, type, sent,
                                                   first.group(), axisAttr)
                              .getResult();
      b.setInsertionPoint(use);
      done = WaitOp::create(b, loc, started, ValueRange{sent});
    } else {
      started = AllReduceStartOp::create(b, loc, sent, first.group(),
                                         first.kind());
      b.setInsertionPoint(use);
      done = WaitOp::create(b, loc, started, ValueRange{});
    }
    lastStart = started.getDefiningOp();
    bool completeEarly = waitEarly || gather;
    if (completeEarly)
      pending.push_back(done.getDefiningOp());
    if (bucket.size() == 1) {
      first.result().replaceAllUsesWith(done);
      first.op->erase();
      return;
    }
    // Unpack: a gathered bucket as [p, n] (row r is rank r's pieces), a
    // scattered one as its one row; then each tensor's piece.
    if (gather)
      done = ReshapeOp::create(
          b, loc, RankedTensorType::get({p, whole.getDimSize(0)}, element),
          done);
    SmallVector<Type> pieces;
    for (const Collective &r : bucket) {
      RankedTensorType t = packedType(r);
      pieces.push_back(scatter  ? RankedTensorType::get({1, t.getDimSize(1)}, element)
                       : gather ? RankedTensorType::get({p, t.getDimSize(0)}, element)
                                : t);
    }
    auto split = SplitOp::create(b, loc, pieces, done,
                                 b.getI64IntegerAttr(scatter || gather));
    if (completeEarly && gather)
      pending.push_back(done.getDefiningOp());
    if (completeEarly)
      pending.push_back(split);
    for (auto [i, piece] : llvm::enumerate(split.getResults())) {
      const Collective &r = bucket[i];
      auto unpacked = ReshapeOp::create(b, loc, r.result().getType(), piece);
      if (completeEarly)
        pending.push_back(unpacked);
      r.result().replaceAllUsesWith(unpacked.getResult());
      r.op->erase();
    }
  }

  Operation *lastStart = nullptr;
  /// The previous bucket's wait and unpacking, to complete before the next.
  SmallVector<Operation *> pending;
};

} // namespace
