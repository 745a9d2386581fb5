//===- AccelSharding.cpp - accel ops for MLIR's shard partitioner ---------===//
//
// External models of upstream `shard::ShardingInterface`, so that
// `sharding-propagation` and `shard-partition` split accel ops: loop
// iterators and indexing maps per op (what a linalg op would have), and a
// partition that computes on local shards and adds the collective a sharded
// reduction needs.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelSharding.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace accel;
using utils::IteratorType;

namespace {

/// The grid axes that split a reduction loop of `op`, given the shardings
/// the partitioner chose.
SmallVector<shard::GridAxis>
reducedGridAxes(shard::ShardingInterface op,
                ArrayRef<shard::Sharding> operandShardings,
                ArrayRef<shard::Sharding> resultShardings) {
  SmallVector<IteratorType> loops = op.getLoopIteratorTypes();
  shard::ShardingArray axes = shard::getGridAxisAssignmentForLoopIterators(
      operandShardings, resultShardings, loops, op.getIndexingMaps());
  return shard::getReductionGridAxes(loops, axes);
}

/// The result type of `op` on one rank.
RankedTensorType localResultType(Operation *op, shard::Sharding sharding,
                                 SymbolTableCollection &symbols) {
  shard::GridOp grid = shard::getGrid(op, sharding.getGridAttr(), symbols);
  return cast<RankedTensorType>(
      shard::shardType(op->getResult(0).getType(), grid, sharding));
}

/// A partial result completed by an all-reduce over `axes` of the result's
/// grid.
Value allReduce(OpBuilder &b, Location loc, Value partial,
                shard::Sharding sharding, ArrayRef<shard::GridAxis> axes,
                shard::ReductionKind kind) {
  return shard::AllReduceOp::create(b, loc, partial,
                                    sharding.getGridAttr().getValue(), axes,
                                    kind);
}

/// The partition of an op with reduction loops: when none is split, the op
/// runs on its local shards as it is; otherwise `partial` builds it on the
/// local shards (of result type `local`), an all-reduce of `kind` completes
/// it and `finish` (if any) adds what must happen once.
LogicalResult partitionReduction(
    Operation *op, ArrayRef<Value> operands,
    ArrayRef<shard::Sharding> operandShardings,
    ArrayRef<shard::Sharding> resultShardings, IRMapping &map,
    SymbolTableCollection &symbols, OpBuilder &b, shard::ReductionKind kind,
    function_ref<Value(RankedTensorType local)> partial,
    function_ref<Value(Value)> finish = nullptr) {
  SmallVector<shard::GridAxis> reduced = reducedGridAxes(
      cast<shard::ShardingInterface>(op), operandShardings, resultShardings);
  if (reduced.empty()) {
    shard::partitionTriviallyShardableOperation(
        *op, operands, operandShardings, resultShardings, map, symbols, b);
    return success();
  }
  Value whole =
      allReduce(b, op->getLoc(),
                partial(localResultType(op, resultShardings[0], symbols)),
                resultShardings[0], reduced, kind);
  map.map(op->getResult(0), finish ? finish(whole) : whole);
  return success();
}

/// Batch dims of a contraction operand, aligned to the result's trailing
/// batch dims (missing leading dims broadcast).
void batchExprs(RankedTensorType operand, int64_t batchDims,
                SmallVectorImpl<AffineExpr> &exprs, MLIRContext *ctx) {
  int64_t own = operand.getRank() - 2;
  for (int64_t i = 0; i < own; ++i)
    exprs.push_back(getAffineDimExpr(batchDims - own + i, ctx));
}

/// A contraction: one parallel loop per result dim, then the summed k.
template <typename Model, typename Op>
struct ContractionSharding
    : shard::ShardingInterface::ExternalModel<Model, Op> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto y = cast<RankedTensorType>(op->getResult(0).getType());
    SmallVector<IteratorType> types(y.getRank(), IteratorType::parallel);
    types.push_back(IteratorType::reduction);
    return types;
  }
  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {shard::ReductionKind::Sum};
  }
};

/// linear: y[b..., n] = sum_k x[b..., k] w[n, k] (+ bias[n]).
struct LinearSharding : ContractionSharding<LinearSharding, LinearOp> {
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto linear = cast<LinearOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t rank = linear.getType().getRank(), dims = rank + 1;
    SmallVector<AffineExpr> x, w, b, y;
    for (int64_t d = 0; d + 1 < rank; ++d)
      x.push_back(getAffineDimExpr(d, ctx));
    AffineExpr n = getAffineDimExpr(rank - 1, ctx), k = getAffineDimExpr(rank, ctx);
    x.push_back(k);
    w = linear.getWeightInOut() ? SmallVector<AffineExpr>{k, n}
                                : SmallVector<AffineExpr>{n, k};
    for (int64_t d = 0; d < rank; ++d)
      y.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(dims, 0, x, ctx),
                                   AffineMap::get(dims, 0, w, ctx)};
    if (linear.getBias())
      maps.push_back(AffineMap::get(dims, 0, {n}, ctx));
    maps.push_back(AffineMap::get(dims, 0, y, ctx));
    return maps;
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> operands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &map, SymbolTableCollection &symbols,
                          OpBuilder &b) const {
    // A split contraction gives each rank a partial product; the bias is
    // added once, after the all-reduce.
    auto linear = cast<LinearOp>(op);
    Location loc = op->getLoc();
    return partitionReduction(
        op, operands, operandShardings, resultShardings, map, symbols, b,
        shard::ReductionKind::Sum,
        [&](RankedTensorType local) -> Value {
          return LinearOp::create(b, loc, local, operands[0], operands[1],
                                  Value(), linear.getWeightInOutAttr());
        },
        [&](Value sum) -> Value {
          return linear.getBias() ? AddOp::create(b, loc, sum, operands[2])
                                  : sum;
        });
  }
};

/// matmul: y[b..., m, n] = sum_k lhs[b..., m, k] rhs[b..., k, n], either
/// operand read transposed; missing leading batch dims broadcast.
struct MatmulSharding : ContractionSharding<MatmulSharding, MatmulOp> {
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto mm = cast<MatmulOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t rank = mm.getType().getRank(), batch = rank - 2, dims = rank + 1;
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(rank, ctx);
    SmallVector<AffineExpr> lhs, rhs, y;
    batchExprs(mm.getLhs().getType(), batch, lhs, ctx);
    batchExprs(mm.getRhs().getType(), batch, rhs, ctx);
    lhs.append(mm.getTransposeLhs() ? SmallVector<AffineExpr>{k, m}
                                    : SmallVector<AffineExpr>{m, k});
    rhs.append(mm.getTransposeRhs() ? SmallVector<AffineExpr>{n, k}
                                    : SmallVector<AffineExpr>{k, n});
    for (int64_t d = 0; d < rank; ++d)
      y.push_back(getAffineDimExpr(d, ctx));
    return {AffineMap::get(dims, 0, lhs, ctx), AffineMap::get(dims, 0, rhs, ctx),
            AffineMap::get(dims, 0, y, ctx)};
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> operands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &map, SymbolTableCollection &symbols,
                          OpBuilder &b) const {
    auto mm = cast<MatmulOp>(op);
    return partitionReduction(
        op, operands, operandShardings, resultShardings, map, symbols, b,
        shard::ReductionKind::Sum, [&](RankedTensorType local) -> Value {
          return MatmulOp::create(b, op->getLoc(), local, operands[0],
                                  operands[1], mm.getTransposeLhsAttr(),
                                  mm.getTransposeRhsAttr());
        });
  }
};

/// reduce_sum/mean/max/min over `axes`: those loops are reductions. Split,
/// each rank reduces its part and an all-reduce of the same kind completes
/// it (a mean as a sum, scaled by the global count after).
template <typename Op>
struct ReduceSharding
    : shard::ShardingInterface::ExternalModel<ReduceSharding<Op>, Op> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto r = cast<Op>(op);
    SmallVector<IteratorType> types(r.getOperand().getType().getRank(),
                                    IteratorType::parallel);
    for (int64_t axis : r.getAxes())
      types[axis] = IteratorType::reduction;
    return types;
  }
  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *op) const {
    return SmallVector<shard::ReductionKind>(cast<Op>(op).getAxes().size(),
                                             kind());
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto r = cast<Op>(op);
    MLIRContext *ctx = op->getContext();
    int64_t rank = r.getOperand().getType().getRank();
    SmallVector<AffineExpr> out;
    for (int64_t d = 0; d < rank; ++d) {
      bool reducedDim = llvm::is_contained(r.getAxes(), d);
      if (!reducedDim)
        out.push_back(getAffineDimExpr(d, ctx));
      else if (r.getKeepDims())
        out.push_back(getAffineConstantExpr(0, ctx)); // refused upstream
    }
    return {AffineMap::getMultiDimIdentityMap(rank, ctx),
            AffineMap::get(rank, 0, out, ctx)};
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> operands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &map, SymbolTableCollection &symbols,
                          OpBuilder &b) const {
    // A mean is summed locally, all-reduced, and scaled once by the count.
    auto r = cast<Op>(op);
    Location loc = op->getLoc();
    constexpr bool mean = std::is_same_v<Op, ReduceMeanOp>;
    auto local = [&](RankedTensorType type) -> Value {
      if constexpr (mean)
        return ReduceSumOp::create(b, loc, type, operands[0], r.getAxesAttr(),
                                   r.getKeepDimsAttr());
      else
        return Op::create(b, loc, type, operands[0], r.getAxesAttr(),
                          r.getKeepDimsAttr());
    };
    auto scale = [&](Value sum) -> Value {
      int64_t count = 1;
      for (int64_t axis : r.getAxes())
        count *= r.getOperand().getType().getDimSize(axis);
      Type element = r.getType().getElementType();
      auto scalar = RankedTensorType::get({}, element);
      Value inverse = ConstantOp::create(
          b, loc, scalar,
          DenseElementsAttr::get(scalar, b.getFloatAttr(element, 1.0 / count)));
      return MulOp::create(b, loc, sum, inverse);
    };
    return partitionReduction(op, operands, operandShardings, resultShardings,
                              map, symbols, b, kind(), local,
                              mean ? function_ref<Value(Value)>(scale) : nullptr);
  }

private:
  static shard::ReductionKind kind() {
    if constexpr (std::is_same_v<Op, ReduceMaxOp>)
      return shard::ReductionKind::Max;
    else if constexpr (std::is_same_v<Op, ReduceMinOp>)
      return shard::ReductionKind::Min;
    else
      return shard::ReductionKind::Sum;
  }
};

/// Elementwise ops with NumPy broadcasting: one parallel loop per result
/// dim; an operand's broadcast dims (missing, or 1 where the result is
/// larger) read index 0, so the partitioner never splits them.
template <typename Op>
struct BroadcastingElementwiseSharding
    : shard::ShardingInterface::ExternalModel<
          BroadcastingElementwiseSharding<Op>, Op> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto y = cast<RankedTensorType>(op->getResult(0).getType());
    return SmallVector<IteratorType>(y.getRank(), IteratorType::parallel);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    MLIRContext *ctx = op->getContext();
    ArrayRef<int64_t> out =
        cast<RankedTensorType>(op->getResult(0).getType()).getShape();
    int64_t rank = out.size();
    SmallVector<AffineMap> maps;
    for (Value operand : op->getOperands()) {
      ArrayRef<int64_t> in = cast<RankedTensorType>(operand.getType()).getShape();
      SmallVector<AffineExpr> exprs;
      for (size_t i = 0; i < in.size(); ++i) {
        int64_t d = rank - static_cast<int64_t>(in.size()) + static_cast<int64_t>(i);
        exprs.push_back(in[i] == 1 && out[d] != 1 ? getAffineConstantExpr(0, ctx)
                                                  : getAffineDimExpr(d, ctx));
      }
      maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
    return maps;
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> operands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &map, SymbolTableCollection &symbols,
                          OpBuilder &b) const {
    shard::partitionTriviallyShardableOperation(
        *op, operands, operandShardings, resultShardings, map, symbols, b);
    return success();
  }
};

template <typename... Ops> void attachBroadcasting(MLIRContext *ctx) {
  (Ops::template attachInterface<BroadcastingElementwiseSharding<Ops>>(*ctx), ...);
}

} // namespace

void accel::registerShardingInterfaces(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, AccelDialect *) {
    LinearOp::attachInterface<LinearSharding>(*ctx);
    MatmulOp::attachInterface<MatmulSharding>(*ctx);
    ReduceSumOp::attachInterface<ReduceSharding<ReduceSumOp>>(*ctx);
    ReduceMeanOp::attachInterface<ReduceSharding<ReduceMeanOp>>(*ctx);
    ReduceMaxOp::attachInterface<ReduceSharding<ReduceMaxOp>>(*ctx);
    ReduceMinOp::attachInterface<ReduceSharding<ReduceMinOp>>(*ctx);
    attachBroadcasting<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, NegOp,
                       AbsOp, ExpOp, LogOp, SqrtOp, RsqrtOp, ReciprocalOp,
                       TanhOp, ErfOp, ReluOp, SigmoidOp, SiluOp, SinOp, CosOp,
                       FloorOp, CeilOp, NotOp>(ctx);
  });
}
