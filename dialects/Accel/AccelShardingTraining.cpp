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

/// The number of positions of every rank's `labels` that count, as an
/// int64 scalar on each rank.
Value countAcrossRanks(Partitioning &p, Value labels, int64_t ignoreIndex,
                       ArrayRef<shard::GridAxis> axes) {
  return p.allReduce(buildCountedLabels(p.b, p.op->getLoc(), labels, ignoreIndex), axes,
                     shard::ReductionKind::Sum);
}

/// A loss's rows are its first loops (one per labels dim). When some are
/// split, returns the count of every rank's counted labels and sets `axes`
/// to the grid axes that split them; otherwise runs the op as it is and
/// returns a null value. A loss given its count (accumulated micro-batches
/// divide by the whole step's) keeps it: the count is replicated, already
/// over every rank's labels.
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
  if (Value count = op.getCount())
    return p
        .operands[llvm::find(op->getOperands(), count) - op->operand_begin()];
  return countAcrossRanks(p, localLabels, op.getIgnoreIndex(), axes);
}

/// A loss over classes split across ranks (Megatron's vocabulary-parallel
/// cross-entropy): each rank holds a block of the logits; the row maximum,
/// the sum of exponentials and the target's logit are completed by
/// all-reduces over `classAxes` (max, sum, sum), so every rank has the
/// loss, and the logits' gradient (for a loss cotangent of 1) on its block.
/// Rows split too (a batch over dp): the mean is over every rank's counted
/// labels, or by `givenCount` when the loss has one. Ignored labels and
/// label smoothing as PyTorch's cross_entropy.
struct VocabParallelLoss {
  Value loss, dLogits;
};
FailureOr<VocabParallelLoss>
vocabParallelLoss(Partitioning &p, Value logits, Value labels, int64_t classes,
                  int64_t ignoreIndex, double smoothing,
                  ArrayRef<shard::GridAxis> classAxes, bool gradient,
                  Value givenCount) {
  OpBuilder &b = p.b;
  Location loc = p.op->getLoc();
  auto logitsType = cast<RankedTensorType>(logits.getType());
  int64_t local = logitsType.getShape().back();
  auto labelType = cast<RankedTensorType>(labels.getType());
  int64_t rank = labelType.getRank();
  Type element = logitsType.getElementType();
  SmallVector<int64_t> rowShape(labelType.getShape());
  auto rowsWith = [&](int64_t last, Type type) {
    SmallVector<int64_t> shape(rowShape);
    shape.push_back(last);
    return RankedTensorType::get(shape, type);
  };
  auto reduceClasses = [&](auto tag, Value v) -> Value {
    using Op = decltype(tag);
    return Op::create(b, loc, rowsWith(1, element), v,
                      b.getDenseI64ArrayAttr({rank}), b.getUnitAttr());
  };
  auto acrossClasses = [&](Value v, shard::ReductionKind kind) {
    return p.allReduce(v, classAxes, kind);
  };
  auto constant = [&](double v) {
    auto t = RankedTensorType::get({}, element);
    return ConstantOp::create(
               b, loc, t, DenseElementsAttr::get(t, b.getFloatAttr(element, v)))
        .getResult();
  };
  auto column = [&](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return ReshapeOp::create(b, loc, rowsWith(1, t.getElementType()), v)
        .getResult();
  };

  SmallVector<AffineExpr> rowLoops;
  for (int64_t d = 0; d < rank; ++d)
    rowLoops.push_back(getAffineDimExpr(d, p.op->getContext()));
  SmallVector<shard::GridAxis> rowAxes = p.axesOf(rowLoops);
  Value count = givenCount;
  if (!count) {
    count = buildCountedLabels(b, loc, labels, ignoreIndex);
    if (!rowAxes.empty())
      count = p.allReduce(count, rowAxes, shard::ReductionKind::Sum);
  }
  Value inverseCount = ReciprocalOp::create(
      b, loc, CastOp::create(b, loc, RankedTensorType::get({}, element), count));

  // Log-sum-exp over every rank's classes, relative to the row maximum.
  Value rowMax = acrossClasses(reduceClasses(ReduceMaxOp(), logits),
                               shard::ReductionKind::Max);
  Value shifted = SubOp::create(b, loc, logits, rowMax);
  Value sumExp = acrossClasses(
      reduceClasses(ReduceSumOp(), ExpOp::create(b, loc, shifted)),
      shard::ReductionKind::Sum);
  Value logSumExp = LogOp::create(b, loc, sumExp);

  // The target's (shifted) logit, from the rank holding its class.
  FailureOr<BlockIndices> block =
      blockIndices(p, labels, local, classes, classAxes, ignoreIndex);
  if (failed(block))
    return failure();
  Type labelElement = labelType.getElementType();
  auto iotaType = RankedTensorType::get({local}, labelElement);
  SmallVector<APInt> iota;
  for (int64_t i = 0; i < local; ++i)
    iota.push_back(APInt(labelElement.getIntOrFloatBitWidth(), i));
  Value classIds = ConstantOp::create(b, loc, iotaType,
                                      DenseElementsAttr::get(iotaType, iota));
  Value hit = CompareOp::create(
      b, loc, classIds, column(block->shifted),
      CompareDirectionAttr::get(b.getContext(), CompareDirection::EQ));
  Value inside = column(block->inside);
  hit = WhereOp::create(b, loc, inside, hit, inside);
  Value oneHot = CastOp::create(b, loc, rowsWith(local, element), hit);
  Value target = acrossClasses(
      reduceClasses(ReduceSumOp(), MulOp::create(b, loc, shifted, oneHot)),
      shard::ReductionKind::Sum);

  // Per row: log-sum-exp minus the target's logit, mixed with the mean
  // logit under label smoothing.
  Value rowLoss = SubOp::create(b, loc, logSumExp, target);
  Value targetWeights = oneHot;
  if (smoothing != 0) {
    Value meanLogit = MulOp::create(
        b, loc,
        acrossClasses(reduceClasses(ReduceSumOp(), shifted),
                      shard::ReductionKind::Sum),
        constant(1.0 / classes));
    rowLoss = AddOp::create(
        b, loc, MulOp::create(b, loc, rowLoss, constant(1 - smoothing)),
        MulOp::create(b, loc, SubOp::create(b, loc, logSumExp, meanLogit),
                      constant(smoothing)));
    targetWeights = AddOp::create(
        b, loc, MulOp::create(b, loc, oneHot, constant(1 - smoothing)),
        constant(smoothing / classes));
  }
  Value counted = CastOp::create(
      b, loc, rowsWith(1, element),
      column(CompareOp::create(
          b, loc, labels, scalar(b, loc, labelElement, ignoreIndex),
          CompareDirectionAttr::get(b.getContext(), CompareDirection::NE))));
  Value perRow = MulOp::create(b, loc, counted, inverseCount);
  Value loss = ReduceSumOp::create(
      b, loc, RankedTensorType::get({}, element),
      MulOp::create(b, loc, rowLoss, perRow),
      b.getDenseI64ArrayAttr(llvm::to_vector(llvm::seq<int64_t>(0, rank + 1))),
      UnitAttr());
  if (!rowAxes.empty())
    loss = p.allReduce(loss, rowAxes, shard::ReductionKind::Sum);
  if (!gradient)
    return VocabParallelLoss{loss, Value()};

  // d loss / d logits = (softmax - targets) / count on counted rows.
  Value softmax =
      ExpOp::create(b, loc, SubOp::create(b, loc, shifted, logSumExp));
  Value dLogits = MulOp::create(
      b, loc, SubOp::create(b, loc, softmax, targetWeights), perRow);
  return VocabParallelLoss{loss, dLogits};
}

/// cross_entropy or its gradient with its classes split (the loop after
/// the rows): the loss over this rank's block of the logits; null when the
/// classes are whole.
template <typename Op>
FailureOr<std::optional<VocabParallelLoss>> overSplitClasses(Op op,
                                                             Partitioning &p,
                                                             bool gradient) {
  int64_t rank = shapeOf(op.getLabels()).size();
  SmallVector<shard::GridAxis> classAxes =
      p.axesOf({getAffineDimExpr(rank, op->getContext())});
  if (classAxes.empty())
    return std::optional<VocabParallelLoss>();
  FailureOr<VocabParallelLoss> loss = vocabParallelLoss(
      p, p.operands[0], p.operands[1], shapeOf(op.getLogits()).back(),
      op.getIgnoreIndex(), op.getLabelSmoothing().convertToDouble(), classAxes,
      gradient, op.getCount() ? p.operands.back() : Value());
  if (failed(loss))
    return failure();
  return std::optional<VocabParallelLoss>(*loss);
}

/// cross_entropy: logits [rows..., C], labels [rows...] -> mean loss; the
/// classes split, vocabParallelLoss.
struct CrossEntropyRules {
  static LoopNest describe(CrossEntropyOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> rows =
        rowLoops(nest, op.getLabels(), IteratorType::reduction);
    AffineExpr c = nest.parallel();
    nest.index(append(rows, c));
    nest.index(rows);
    if (op.getCount())
      nest.index({});
    nest.index({});
    return nest;
  }
  static LogicalResult partition(CrossEntropyOp op, Partitioning &p) {
    auto split = overSplitClasses(op, p, /*gradient=*/false);
    if (failed(split))
      return failure();
    if (*split) {
      p.map.map(op.getLoss(), (*split)->loss);
      return success();
    }
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
    AffineExpr c = nest.parallel();
    nest.index(append(rows, c));
    nest.index(rows);
    nest.index({}); // dloss
    if (op.getCount())
      nest.index({});
    nest.index(append(rows, c));
    return nest;
  }
  static LogicalResult partition(CrossEntropyGradOp op, Partitioning &p) {
    auto split = overSplitClasses(op, p, /*gradient=*/true);
    if (failed(split))
      return failure();
    if (*split) {
      p.map.map(op.getDlogits(), MulOp::create(p.b, op.getLoc(),
                                               (*split)->dLogits, p.operands[2]));
      return success();
    }
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
/// split, both get an all-reduce. The classes split (a vocabulary-parallel
/// head, Megatron's): vocabParallelLoss on this rank's block of the logits.
struct LinearCrossEntropyRules {
  static LoopNest describe(LinearCrossEntropyOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> rows =
        rowLoops(nest, op.getLabels(), IteratorType::parallel);
    AffineExpr k = nest.fixed("the feature dim of a fused loss head");
    AffineExpr c = nest.parallel();
    SmallVector<AffineExpr> weight = op.getWeightInOut()
                                         ? SmallVector<AffineExpr>{k, c}
                                         : SmallVector<AffineExpr>{c, k};
    nest.index(append(rows, k));
    nest.index(weight);
    nest.index(rows);
    if (op.getCount())
      nest.index({});
    if (op.getCotangent())
      nest.index({});
    nest.index({});
    nest.index(append(rows, k));
    nest.index(weight);
    return nest;
  }
  static LogicalResult partition(LinearCrossEntropyOp op, Partitioning &p) {
    int64_t rank = shapeOf(op.getLabels()).size();
    SmallVector<shard::GridAxis> classAxes =
        p.axesOf({getAffineDimExpr(rank + 1, op->getContext())});
    if (!classAxes.empty()) {
      // Each rank its block of the logits; unlike the fused one-process
      // kernel, the block exists whole ([rows..., C / ranks]).
      Location loc = op.getLoc();
      Value x = p.operands[0], w = p.operands[1];
      bool inOut = op.getWeightInOut();
      auto xType = cast<RankedTensorType>(x.getType());
      int64_t local = shapeOf(w)[inOut ? 1 : 0];
      SmallVector<int64_t> logitsShape(xType.getShape());
      logitsShape.back() = local;
      Type element = xType.getElementType();
      auto f32 = Float32Type::get(op->getContext());
      // A bf16/fp16 head (mixed precision) makes fp32 logits, as the fused
      // one-process kernel does, and its gradient GEMMs keep their sums in
      // fp32 until summed over ranks; they read the logit gradients
      // rounded.
      Value logits =
          LinearOp::create(p.b, loc, RankedTensorType::get(logitsShape, f32), x,
                           w, Value(), op.getWeightInOutAttr());
      FailureOr<VocabParallelLoss> loss = vocabParallelLoss(
          p, logits, p.operands[2], shapeOf(op.getWeight())[inOut ? 1 : 0],
          op.getIgnoreIndex(), op.getLabelSmoothing().convertToDouble(),
          classAxes, /*gradient=*/true,
          op.getCount() ? p.operands[3] : Value());
      if (failed(loss))
        return failure();
      auto rounded = [&](Value v, Type type) -> Value {
        return v.getType() == type ? v : CastOp::create(p.b, loc, type, v);
      };
      // The loss's cotangent scales the fp32 logit gradients before they
      // are rounded (a loss scale keeps fp16 gradients from underflowing).
      Value dLogits = loss->dLogits;
      if (op.getCotangent())
        dLogits =
            MulOp::create(p.b, loc, dLogits, p.operands[op.getCount() ? 4 : 3]);
      dLogits = rounded(dLogits, RankedTensorType::get(logitsShape, element));
      // input_grad: a partial sum over the classes; weight_grad: this
      // rank's block, summed over every rank's rows.
      Value inputGrad = rounded(
          p.allReduce(LinearOp::create(p.b, loc, xType.clone(f32), dLogits, w,
                                       Value(),
                                       inOut ? UnitAttr() : p.b.getUnitAttr()),
                      classAxes, shard::ReductionKind::Sum),
          xType);
      // This rank's rows (its block of the batch under dp).
      int64_t rows =
          cast<RankedTensorType>(p.operands[2].getType()).getNumElements();
      int64_t features = xType.getShape().back();
      Value flatGrad = ReshapeOp::create(
          p.b, loc, RankedTensorType::get({rows, local}, element), dLogits);
      Value flatInput = ReshapeOp::create(
          p.b, loc, RankedTensorType::get({rows, features}, element), x);
      SmallVector<int64_t> weightShape =
          inOut ? SmallVector<int64_t>{features, local}
                : SmallVector<int64_t>{local, features};
      Value weightGrad =
          inOut ? MatmulOp::create(
                      p.b, loc, RankedTensorType::get(weightShape, f32),
                      flatInput, flatGrad, p.b.getUnitAttr(), UnitAttr())
                : MatmulOp::create(
                      p.b, loc, RankedTensorType::get(weightShape, f32),
                      flatGrad, flatInput, p.b.getUnitAttr(), UnitAttr());
      SmallVector<AffineExpr> rowLoops;
      for (int64_t d = 0; d < rank; ++d)
        rowLoops.push_back(getAffineDimExpr(d, op->getContext()));
      if (SmallVector<shard::GridAxis> rowAxes = p.axesOf(rowLoops); !rowAxes.empty())
        weightGrad = p.allReduce(weightGrad, rowAxes, shard::ReductionKind::Sum);
      p.map.map(op.getLoss(), loss->loss);
      p.map.map(op.getInputGrad(), inputGrad);
      p.map.map(
          op.getWeightGrad(),
          rounded(weightGrad, RankedTensorType::get(weightShape, element)));
      return success();
    }
    SmallVector<shard::GridAxis> axes;
    FailureOr<Value> count = splitRows(op, p, p.operands[2], axes);
    if (failed(count) || !*count)
      return failure(failed(count));
    auto local = LinearCrossEntropyOp::create(
        p.b, op.getLoc(),
        TypeRange{p.localType(0), p.localType(1), p.localType(2)},
        p.operands[0], p.operands[1], p.operands[2], *count,
        op.getCotangent() ? p.operands.back() : Value(),
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
    nest.independentValues();
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

/// unscale_gradients: elementwise over each gradient (with its unscaled
/// result), the gradients sharing no loops, as global_norm's operands. Each
/// rank checks its own blocks, and found_inf is the max over the grid axes
/// that split any gradient, so every rank skips the step together.
struct UnscaleGradientsRules {
  static LoopNest describe(UnscaleGradientsOp op) {
    LoopNest nest(op->getContext());
    nest.independentValues();
    SmallVector<SmallVector<AffineExpr>> loops;
    for (Value g : op.getGrads())
      loops.push_back(nest.parallel(shapeOf(g).size()));
    nest.index({});
    for (auto &l : loops)
      nest.index(l);
    nest.index({});
    for (auto &l : loops)
      nest.index(l);
    return nest;
  }
  static LogicalResult partition(UnscaleGradientsOp op, Partitioning &p) {
    SmallVector<AffineExpr> all;
    for (unsigned loop = 0; loop < p.loopAxes.size(); ++loop)
      all.push_back(getAffineDimExpr(loop, op->getContext()));
    SmallVector<shard::GridAxis> axes = p.axesOf(all);
    if (axes.empty()) {
      p.keepAsIs();
      return success();
    }
    llvm::sort(axes);
    OpBuilder &b = p.b;
    Location loc = op.getLoc();
    auto local = UnscaleGradientsOp::create(b, loc, p.operands.front(),
                                            p.operands.drop_front());
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    Value any = p.allReduce(CastOp::create(b, loc, scalar, local.getFoundInf()),
                            axes, shard::ReductionKind::Max);
    Value zero = ConstantOp::create(
        b, loc, scalar,
        DenseElementsAttr::get(scalar, b.getF32FloatAttr(0.0f)));
    p.map.map(op.getFoundInf(),
              CompareOp::create(b, loc, any, zero, CompareDirection::GT));
    for (auto [whole, block] : llvm::zip(op.getUnscaled(), local.getUnscaled()))
      p.map.map(whole, block);
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
  attach<UnscaleGradientsRules, UnscaleGradientsOp>(ctx);
  attach<UpdateRules, AdamWOp, SgdOp, LrScheduleOp, UpdateLossScaleOp>(ctx);
}
