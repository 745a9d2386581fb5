//===- AccelShardingTraining.cpp - accel's training ops for the partitioner -===//
//
// ShardingInterface models of the ops a training step adds: the losses
// (rows split across ranks: each rank sums its rows, divided by the count
// of every rank's rows, then an all-reduce adds the parts, so the loss and
// its gradient are the single-process mean, ignored positions included),
// the global gradient norm, the learning-rate schedule and the optimizer
// updates (elementwise over a shard).
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "dialects/Accel/AccelShardingRules.h"

#include <map>

using namespace mlir;
using namespace accel;
using namespace accel::sharding;

namespace {

/// The leading (row) dims of a loss's labels: split for data parallelism.
SmallVector<AffineExpr> rowLoops(LoopNest &nest, Value labels,
                                 IteratorType type) {
  SmallVector<AffineExpr> rows;
  for (size_t d = 0; d < shapeOf(labels).size(); ++d)
    rows.push_back(type == IteratorType::reduction ? nest.reduction()
                                                   : nest.parallel());
  return rows;
}

SmallVector<AffineExpr> append(ArrayRef<AffineExpr> front, AffineExpr back) {
  SmallVector<AffineExpr> exprs(front.begin(), front.end());
  exprs.push_back(back);
  return exprs;
}

/// The number of positions of every rank's `labels` that count (labels
/// other than `ignoreIndex`), as an int64 scalar on each rank.
Value countAcrossRanks(Partitioning &p, Value labels, int64_t ignoreIndex,
                       ArrayRef<shard::GridAxis> axes) {
  OpBuilder &b = p.b;
  Location loc = p.op->getLoc();
  auto type = cast<RankedTensorType>(labels.getType());
  auto scalar = RankedTensorType::get({}, type.getElementType());
  Value ignore = ConstantOp::create(
      b, loc, scalar,
      DenseElementsAttr::get(
          scalar, b.getIntegerAttr(type.getElementType(), ignoreIndex)));
  Value counts = CompareOp::create(
      b, loc, labels, ignore,
      CompareDirectionAttr::get(b.getContext(), CompareDirection::NE));
  auto i64 = b.getI64Type();
  Value ones = CastOp::create(b, loc, type.clone(i64), counts);
  auto axesAttr = b.getDenseI64ArrayAttr(
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())));
  Value local = ReduceSumOp::create(b, loc, RankedTensorType::get({}, i64),
                                    ones, axesAttr, /*keep_dims=*/false);
  return p.allReduce(local, axes, shard::ReductionKind::Sum);
}

/// A loss's rows are its first loops (one per labels dim). When some are
/// split, returns the count of every rank's counted labels and sets `axes`
/// to the grid axes that split them; otherwise runs the op as it is and
/// returns a null value.
template <typename Op>
FailureOr<Value> splitRows(Op op, Partitioning &p, Value localLabels,
                           SmallVectorImpl<shard::GridAxis> &axes) {
  SmallVector<AffineExpr> rows;
  for (size_t d = 0; d < shapeOf(op.getLabels()).size(); ++d)
    rows.push_back(getAffineDimExpr(d, op->getContext()));
  axes = p.axesOf(rows);
  if (axes.empty()) {
    p.keepAsIs();
    return Value();
  }
  if (op.getCount())
    return op.emitOpError("already divides by a count across ranks; it "
                          "cannot be split again");
  return countAcrossRanks(p, localLabels, op.getIgnoreIndex(), axes);
}

/// cross_entropy: logits [rows..., C], labels [rows...] -> mean loss.
struct CrossEntropyRules {
  static LoopNest describe(CrossEntropyOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> rows =
        rowLoops(nest, op.getLabels(), IteratorType::reduction);
    AffineExpr c = nest.fixed("the class dim (a vocabulary-parallel loss "
                              "is not supported yet)");
    nest.index(append(rows, c));
    nest.index(rows);
    if (op.getCount())
      nest.index({});
    nest.index({});
    return nest;
  }
  static LogicalResult partition(CrossEntropyOp op, Partitioning &p) {
    SmallVector<shard::GridAxis> axes;
    FailureOr<Value> count = splitRows(op, p, p.operands[1], axes);
    if (failed(count) || !*count)
      return failure(failed(count));
    Value part = CrossEntropyOp::create(
        p.b, op.getLoc(), p.operands[0], p.operands[1], *count,
        op.getIgnoreIndex(), op.getLabelSmoothing());
    p.map.map(op.getLoss(),
              p.allReduce(part, axes, shard::ReductionKind::Sum));
    return success();
  }
};

/// cross_entropy_grad: rowwise; split rows divide by every rank's count.
struct CrossEntropyGradRules {
  static LoopNest describe(CrossEntropyGradOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> rows =
        rowLoops(nest, op.getLabels(), IteratorType::parallel);
    AffineExpr c = nest.fixed("the class dim (a vocabulary-parallel loss "
                              "is not supported yet)");
    nest.index(append(rows, c));
    nest.index(rows);
    nest.index({}); // dloss
    if (op.getCount())
      nest.index({});
    nest.index(append(rows, c));
    return nest;
  }
  static LogicalResult partition(CrossEntropyGradOp op, Partitioning &p) {
    SmallVector<shard::GridAxis> axes;
    FailureOr<Value> count = splitRows(op, p, p.operands[1], axes);
    if (failed(count) || !*count)
      return failure(failed(count));
    p.map.map(op.getDlogits(),
              CrossEntropyGradOp::create(
                  p.b, op.getLoc(), p.localType(0), p.operands[0],
                  p.operands[1], p.operands[2], *count, op.getIgnoreIndexAttr(),
                  op.getLabelSmoothingAttr()));
    return success();
  }
};

/// linear_cross_entropy: input [rows..., K], weight [C, K] (or [K, C]),
/// labels [rows...] -> loss, input_grad [rows..., K], weight_grad. Rows
/// are parallel for input_grad and summed for the loss and weight_grad:
/// split, both get an all-reduce.
struct LinearCrossEntropyRules {
  static LoopNest describe(LinearCrossEntropyOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> rows =
        rowLoops(nest, op.getLabels(), IteratorType::parallel);
    AffineExpr k = nest.fixed("the feature dim of a fused loss head");
    AffineExpr c = nest.fixed("the class dim (a vocabulary-parallel loss "
                              "is not supported yet)");
    SmallVector<AffineExpr> weight = op.getWeightInOut()
                                         ? SmallVector<AffineExpr>{k, c}
                                         : SmallVector<AffineExpr>{c, k};
    nest.index(append(rows, k));
    nest.index(weight);
    nest.index(rows);
    if (op.getCount())
      nest.index({});
    nest.index({});
    nest.index(append(rows, k));
    nest.index(weight);
    return nest;
  }
  static LogicalResult partition(LinearCrossEntropyOp op, Partitioning &p) {
    SmallVector<shard::GridAxis> axes;
    FailureOr<Value> count = splitRows(op, p, p.operands[2], axes);
    if (failed(count) || !*count)
      return failure(failed(count));
    auto local = LinearCrossEntropyOp::create(
        p.b, op.getLoc(),
        TypeRange{p.localType(0), p.localType(1), p.localType(2)},
        p.operands[0], p.operands[1], p.operands[2], *count,
        op.getIgnoreIndexAttr(), op.getLabelSmoothingAttr(),
        op.getWeightInOutAttr());
    p.map.map(op.getLoss(), p.allReduce(local.getLoss(), axes,
                                        shard::ReductionKind::Sum));
    p.map.map(op.getInputGrad(), local.getInputGrad());
    p.map.map(op.getWeightGrad(), p.allReduce(local.getWeightGrad(), axes,
                                              shard::ReductionKind::Sum));
    return success();
  }
};

/// global_norm: each operand may be split along any dim (the gradients
/// of parameters whose optimizer state is sharded, ZeRO). Split operands
/// give a partial sum of squares that an all-reduce completes; whole ones
/// are counted once, on every rank.
struct GlobalNormRules {
  static LoopNest describe(GlobalNormOp op) {
    LoopNest nest(op->getContext());
    for (Value v : op.getOperands()) {
      SmallVector<AffineExpr> loops;
      for (size_t d = 0; d < shapeOf(v).size(); ++d)
        loops.push_back(nest.reduction());
      nest.index(loops);
    }
    nest.index({});
    return nest;
  }
  static LogicalResult partition(GlobalNormOp op, Partitioning &p) {
    // The operands grouped by the grid axes that split them: each group's
    // partial sum of squares is completed over its own axes only (one
    // split over dp alone is whole on every tp rank: summed over tp, it
    // would count tp times).
    std::map<std::vector<shard::GridAxis>, SmallVector<Value>> byAxes;
    unsigned loop = 0;
    for (auto [i, v] : llvm::enumerate(op.getOperands())) {
      SmallVector<AffineExpr> loops;
      for (size_t d = 0; d < shapeOf(v).size(); ++d)
        loops.push_back(getAffineDimExpr(loop++, op->getContext()));
      SmallVector<shard::GridAxis> own = p.axesOf(loops);
      llvm::sort(own);
      byAxes[std::vector<shard::GridAxis>(own.begin(), own.end())].push_back(
          p.operands[i]);
    }
    if (byAxes.size() == 1 && byAxes.begin()->first.empty()) {
      p.keepAsIs();
      return success();
    }
    OpBuilder &b = p.b;
    Location loc = op.getLoc();
    // In fp32, as torch.nn.utils.clip_grad_norm_ combines per-tensor norms.
    Value total;
    for (auto &[axes, values] : byAxes) {
      Value norm = GlobalNormOp::create(b, loc, values);
      Value squares = MulOp::create(b, loc, norm, norm);
      if (!axes.empty())
        squares = p.allReduce(squares, axes, shard::ReductionKind::Sum);
      total = total ? AddOp::create(b, loc, total, squares) : squares;
    }
    p.map.map(op.getNorm(), SqrtOp::create(b, loc, total));
    return success();
  }
};

/// Optimizer updates (adamw, sgd): elementwise over the parameter; its
/// gradient and state are shaped like it, the rest are scalars. Also the
/// all-scalar lr_schedule.
struct UpdateRules : LocalRules {
  static LoopNest describe(Operation *op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> loops;
    if (op->getNumOperands() && isa<RankedTensorType>(op->getOperand(0).getType()))
      loops = nest.parallel(shapeOf(op->getOperand(0)).size());
    auto index = [&](Value v) {
      nest.index(shapeOf(v).empty() ? ArrayRef<AffineExpr>() : ArrayRef(loops));
    };
    for (Value v : op->getOperands())
      index(v);
    for (Value v : op->getResults())
      index(v);
    return nest;
  }
};

} // namespace

void sharding::attachTrainingModels(MLIRContext *ctx) {
  attach<CrossEntropyRules, CrossEntropyOp>(ctx);
  attach<CrossEntropyGradRules, CrossEntropyGradOp>(ctx);
  attach<LinearCrossEntropyRules, LinearCrossEntropyOp>(ctx);
  attach<GlobalNormRules, GlobalNormOp>(ctx);
  attach<UpdateRules, AdamWOp, SgdOp, LrScheduleOp>(ctx);
}
