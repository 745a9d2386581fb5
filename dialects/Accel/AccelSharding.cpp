//===- AccelSharding.cpp - accel's compute ops for MLIR's partitioner -----===//
//
// ShardingInterface models of the ops that compute: elementwise ops with
// NumPy broadcasting, contractions, reductions, normalizations, softmax and
// attention. Each states its loop nest (AccelShardingRules.h); a split
// contraction or reduction adds the all-reduce that completes it.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelSharding.h"
#include "dialects/Accel/AccelOps.h"
#include "dialects/Accel/AccelShardingRules.h"

#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace accel;
using namespace accel::sharding;

namespace {

/// Elementwise ops with NumPy broadcasting (also compare, where, cast,
/// gelu, broadcast): one parallel loop per result dim.
struct ElementwiseRules : LocalRules {
  static LoopNest describe(Operation *op) {
    LoopNest nest(op->getContext());
    ArrayRef<int64_t> out = shapeOf(op->getResult(0));
    SmallVector<AffineExpr> loops = nest.parallel(out.size());
    for (Value operand : op->getOperands())
      nest.indexBroadcast(operand.getType(), out, loops);
    nest.index(loops);
    return nest;
  }
};

/// dropout: elementwise, its mask drawn by element index. Split along dim
/// 0, each rank's block is contiguous and draws its block of the whole
/// mask (split_group); other dims would interleave and stay whole.
struct DropoutRules {
  static LoopNest describe(DropoutOp op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> loops;
    for (size_t d = 0; d < op.getType().getShape().size(); ++d)
      loops.push_back(d == 0 ? nest.parallel()
                             : nest.fixed("a dropout mask's dim " +
                                          std::to_string(d)));
    nest.index(loops);
    if (op.getStep())
      nest.index({});
    nest.index(loops);
    return nest;
  }
  static LogicalResult partition(DropoutOp op, Partitioning &p) {
    if (op.getType().getRank() == 0 || p.loopAxes[0].empty()) {
      p.keepAsIs();
      return success();
    }
    if (op.getSplitGroup())
      return op.emitOpError("is already a block of a split tensor");
    FailureOr<std::string> group =
        groupName(op, p.grid().getValue(), p.loopAxes[0]);
    if (failed(group))
      return failure();
    Value step = op.getStep() ? p.operands[1] : Value();
    p.map.map(op.getResult(),
              DropoutOp::create(p.b, op.getLoc(), p.operands[0].getType(),
                                p.operands[0],
                                step, op.getRatioAttr(), op.getSeedAttr(),
                                p.b.getStringAttr(*group)));
    return success();
  }
};

/// The batch dims of a contraction operand, aligned to the result's.
void indexBatch(LoopNest &nest, SmallVectorImpl<AffineExpr> &exprs,
                ArrayRef<int64_t> operand, ArrayRef<int64_t> result,
                ArrayRef<AffineExpr> loops) {
  int64_t own = operand.size() - 2, batch = result.size() - 2;
  for (int64_t i = 0; i < own; ++i) {
    int64_t d = batch - own + i;
    exprs.push_back(operand[i] == 1 && result[d] != 1 ? nest.parallel()
                                                      : loops[d]);
  }
}

/// linear: y[b..., n] = sum_k x[b..., k] w[n, k] (+ bias[n]). Split over k,
/// each rank holds a partial product; the bias is added once, after the
/// all-reduce.
struct LinearRules {
  static LoopNest describe(LinearOp op) {
    LoopNest nest(op->getContext());
    int64_t rank = op.getType().getRank();
    SmallVector<AffineExpr> y = nest.parallel(rank);
    AffineExpr k = nest.reduction(), n = y.back();
    SmallVector<AffineExpr> x(y.begin(), y.end() - 1);
    x.push_back(k);
    nest.index(x);
    nest.index(op.getWeightInOut() ? SmallVector<AffineExpr>{k, n}
                                   : SmallVector<AffineExpr>{n, k});
    if (op.getBias())
      nest.index({n});
    nest.index(y);
    return nest;
  }
  static LogicalResult partition(LinearOp op, Partitioning &p) {
    Location loc = op.getLoc();
    return p.reduceAcrossRanks(
        shard::ReductionKind::Sum,
        [&](RankedTensorType local) -> Value {
          return LinearOp::create(p.b, loc, local, p.operands[0],
                                  p.operands[1], Value(),
                                  op.getWeightInOutAttr());
        },
        [&](Value sum) -> Value {
          if (!op.getBias())
            return sum;
          // The bias joins a bf16/fp16 projection's fp32 sum.
          Value bias = p.operands[2];
          if (getElementTypeOrSelf(sum.getType()) !=
              getElementTypeOrSelf(bias.getType()))
            bias =
                CastOp::create(p.b, loc,
                               cast<RankedTensorType>(bias.getType())
                                   .clone(getElementTypeOrSelf(sum.getType())),
                               bias);
          return AddOp::create(p.b, loc, sum, bias);
        },
        /*contraction=*/true);
  }
};

/// matmul: y[b..., m, n] = sum_k lhs[b..., m, k] rhs[b..., k, n], either
/// operand read transposed; batch dims broadcast.
struct MatmulRules {
  static LoopNest describe(MatmulOp op) {
    LoopNest nest(op->getContext());
    ArrayRef<int64_t> out = op.getType().getShape();
    SmallVector<AffineExpr> y = nest.parallel(out.size());
    AffineExpr k = nest.reduction(), m = y[out.size() - 2], n = y.back();
    SmallVector<AffineExpr> lhs, rhs;
    indexBatch(nest, lhs, shapeOf(op.getLhs()), out, y);
    indexBatch(nest, rhs, shapeOf(op.getRhs()), out, y);
    lhs.append(op.getTransposeLhs() ? SmallVector<AffineExpr>{k, m}
                                    : SmallVector<AffineExpr>{m, k});
    rhs.append(op.getTransposeRhs() ? SmallVector<AffineExpr>{n, k}
                                    : SmallVector<AffineExpr>{k, n});
    nest.index(lhs);
    nest.index(rhs);
    nest.index(y);
    return nest;
  }
  static LogicalResult partition(MatmulOp op, Partitioning &p) {
    return p.reduceAcrossRanks(
        shard::ReductionKind::Sum,
        [&](RankedTensorType local) -> Value {
          return MatmulOp::create(p.b, op.getLoc(), local, p.operands[0],
                                  p.operands[1], op.getTransposeLhsAttr(),
                                  op.getTransposeRhsAttr());
        },
        /*finish=*/nullptr, /*contraction=*/true);
  }
};

/// reduce_sum/mean/max/min over `axes`. Split, each rank reduces its part
/// and an all-reduce of the same kind completes it (a mean as a sum, scaled
/// by the global count after).
template <typename Op> struct ReduceRules {
  static shard::ReductionKind kind() {
    if constexpr (std::is_same_v<Op, ReduceMaxOp>)
      return shard::ReductionKind::Max;
    else if constexpr (std::is_same_v<Op, ReduceMinOp>)
      return shard::ReductionKind::Min;
    else
      return shard::ReductionKind::Sum;
  }
  static LoopNest describe(Op op) {
    LoopNest nest(op->getContext());
    SmallVector<AffineExpr> in, out;
    for (int64_t d = 0; d < op.getOperand().getType().getRank(); ++d) {
      bool reduced = llvm::is_contained(op.getAxes(), d);
      in.push_back(reduced ? nest.reduction(kind()) : nest.parallel());
      if (!reduced)
        out.push_back(in.back());
      else if (op.getKeepDims())
        out.push_back(nest.parallel()); // the kept size-1 dim
    }
    nest.index(in);
    nest.index(out);
    return nest;
  }
  static LogicalResult partition(Op op, Partitioning &p) {
    Location loc = op.getLoc();
    constexpr bool mean = std::is_same_v<Op, ReduceMeanOp>;
    auto local = [&](RankedTensorType type) -> Value {
      if constexpr (mean)
        return ReduceSumOp::create(p.b, loc, type, p.operands[0],
                                   op.getAxesAttr(), op.getKeepDimsAttr());
      else
        return Op::create(p.b, loc, type, p.operands[0], op.getAxesAttr(),
                          op.getKeepDimsAttr());
    };
    auto scale = [&](Value sum) -> Value {
      int64_t count = 1;
      for (int64_t axis : op.getAxes())
        count *= op.getOperand().getType().getDimSize(axis);
      Type element = op.getType().getElementType();
      auto scalar = RankedTensorType::get({}, element);
      Value inverse = ConstantOp::create(
          p.b, loc, scalar,
          DenseElementsAttr::get(scalar,
                                 p.b.getFloatAttr(element, 1.0 / count)));
      return MulOp::create(p.b, loc, sum, inverse);
    };
    return p.reduceAcrossRanks(kind(), local,
                             mean ? function_ref<Value(Value)>(scale)
                                  : nullptr);
  }
};

/// Ops that work along the trailing dims from `axis` (layer_norm, rms_norm)
/// or along one `axis` (softmax, log_softmax, cumsum): those dims are
/// fixed; scale and bias are indexed by the normalized dims.
template <typename Op> struct AlongAxisRules : LocalRules {
  static LoopNest describe(Op op) {
    LoopNest nest(op->getContext());
    constexpr bool norm =
        std::is_same_v<Op, LayerNormOp> || std::is_same_v<Op, RmsNormOp>;
    int64_t rank = shapeOf(op->getResult(0)).size(), axis = op.getAxis();
    SmallVector<AffineExpr> loops;
    for (int64_t d = 0; d < rank; ++d) {
      bool along = norm ? d >= axis : d == axis;
      loops.push_back(along ? nest.fixed("the dim " + std::to_string(d) +
                                         " it works along")
                            : nest.parallel());
    }
    nest.index(loops);
    for (size_t i = 1; i < op->getNumOperands(); ++i) // scale, bias
      nest.indexBroadcast(op->getOperand(i).getType(),
                          shapeOf(op->getResult(0)), loops);
    nest.index(loops);
    return nest;
  }
};

/// attention: out[b..., q, e] = softmax_k(Q[b..., q, :] K[b..., k, :]) V,
/// and its gradient (the result's cotangent indexed as the result; dQ, dK,
/// dV as Q, K, V). Batch and head dims split (heads for tensor parallelism
/// when query and key heads agree); the sequence and feature dims are
/// fixed.
template <typename Op> struct AttentionRules : LocalRules {
  static constexpr bool kGradient = std::is_same_v<Op, AttentionGradOp>;
  static LoopNest describe(Op op) {
    LoopNest nest(op->getContext());
    SmallVector<int64_t> out(shapeOf(op.getQuery()));
    out.back() = shapeOf(op.getValue()).back();
    int64_t batch = out.size() - 2;
    SmallVector<AffineExpr> lead = nest.parallel(batch);
    AffineExpr q = nest.fixed("the query sequence"),
               e = nest.fixed("the value features"),
               k = nest.fixed("the key sequence"),
               d = nest.fixed("the query/key features");
    auto leadOf = [&](Value v) {
      SmallVector<AffineExpr> exprs;
      ArrayRef<int64_t> shape = shapeOf(v);
      for (int64_t i = 0; i < batch; ++i)
        exprs.push_back(shape[i] == out[i]
                            ? lead[i]
                            : nest.fixed("grouped key/value heads"));
      return exprs;
    };
    auto with = [](SmallVector<AffineExpr> exprs, AffineExpr a, AffineExpr b) {
      exprs.push_back(a);
      exprs.push_back(b);
      return exprs;
    };
    nest.index(with(leadOf(op.getQuery()), q, d));
    nest.index(with(leadOf(op.getKey()), k, d));
    nest.index(with(leadOf(op.getValue()), k, e));
    SmallVector<AffineExpr> result(lead.begin(), lead.end());
    result.push_back(q);
    result.push_back(e);
    if constexpr (kGradient)
      nest.index(result); // the cotangent
    if (Value mask = op.getMask()) {
      SmallVector<int64_t> scores(out.begin(), out.end());
      scores.back() = shapeOf(op.getKey())[batch];
      SmallVector<AffineExpr> loops(lead.begin(), lead.end());
      loops.push_back(q);
      loops.push_back(k);
      nest.indexBroadcast(mask.getType(), scores, loops);
    }
    if constexpr (kGradient) {
      nest.index(with(leadOf(op.getQuery()), q, d));
      nest.index(with(leadOf(op.getKey()), k, d));
      nest.index(with(leadOf(op.getValue()), k, e));
    } else {
      nest.index(result);
    }
    return nest;
  }
};

} // namespace

void sharding::attachComputeModels(MLIRContext *ctx) {
  attach<ElementwiseRules, AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp,
         NegOp, AbsOp, ExpOp, LogOp, SqrtOp, RsqrtOp, ReciprocalOp, TanhOp,
         ErfOp, ReluOp, SigmoidOp, SiluOp, SinOp, CosOp, FloorOp, CeilOp,
         NotOp, GeluOp, CompareOp, WhereOp, CastOp, BroadcastOp>(ctx);
  attach<DropoutRules, DropoutOp>(ctx);
  attach<LinearRules, LinearOp>(ctx);
  attach<MatmulRules, MatmulOp>(ctx);
  attach<ReduceRules<ReduceSumOp>, ReduceSumOp>(ctx);
  attach<ReduceRules<ReduceMeanOp>, ReduceMeanOp>(ctx);
  attach<ReduceRules<ReduceMaxOp>, ReduceMaxOp>(ctx);
  attach<ReduceRules<ReduceMinOp>, ReduceMinOp>(ctx);
  attach<AlongAxisRules<LayerNormOp>, LayerNormOp>(ctx);
  attach<AlongAxisRules<RmsNormOp>, RmsNormOp>(ctx);
  attach<AlongAxisRules<SoftmaxOp>, SoftmaxOp>(ctx);
  attach<AlongAxisRules<LogSoftmaxOp>, LogSoftmaxOp>(ctx);
  attach<AlongAxisRules<CumSumOp>, CumSumOp>(ctx);
  attach<AttentionRules<AttentionOp>, AttentionOp>(ctx);
  attach<AttentionRules<AttentionGradOp>, AttentionGradOp>(ctx);
}

void accel::registerShardingInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, AccelDialect *) {
    sharding::attachComputeModels(ctx);
    sharding::attachDataMovementModels(ctx);
    sharding::attachTrainingModels(ctx);
  });
}
