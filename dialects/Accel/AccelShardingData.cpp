//===- AccelShardingData.cpp - accel's data movement for MLIR's partitioner ===//
//
// ShardingInterface models of the ops that move data: reshape, transpose,
// split, concat, slice, gather and its gradient scatter_add. A dim that is
// cut, joined or reinterpreted is fixed (AccelShardingRules.h), so a split
// of it is an error naming the op, not a wrong shard.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "dialects/Accel/AccelShardingRules.h"

using namespace mlir;
using namespace accel;
using namespace accel::sharding;

namespace {

/// constant: held whole, each rank keeping its block of a split one
/// (shard.all_slice, no communication; accel-lower-collectives turns the
/// block of a splat, such as a gradient rule's zeros, into the splat at
/// the local shape).
struct ConstantRules {
  static LoopNest describe(ConstantOp op) {
    LoopNest nest(op->getContext());
    nest.index(nest.parallel(op.getType().getRank()));
    return nest;
  }
  static LogicalResult partition(ConstantOp op, Partitioning &p) {
    if (p.localType(0) == op.getType()) {
      p.keepAsIs();
      return success();
    }
    shard::Sharding sharding = p.resultShardings[0];
    shard::GridOp grid =
        shard::getGrid(op, sharding.getGridAttr(), p.symbols);
    Value block =
        ConstantOp::create(p.b, op.getLoc(), op.getType(), op.getValue());
    for (auto [dim, axes] : llvm::enumerate(sharding.getSplitAxes()))
      if (!axes.empty())
        block = shard::AllSliceOp::create(p.b, op.getLoc(), block, grid,
                                          axes.asArrayRef(), dim);
    p.map.map(op.getResult(), block);
    return success();
  }
};

/// reshape: the dims of both sides group into runs of equal element count
/// (16x64x128 -> 1024x128: [16, 64] -> [1024], [128] -> [128]). A run's
/// outer dims share a loop: split evenly, both hold the same rows. Its
/// other dims, and size-1 dims, have loops of their own and stay whole.
struct ReshapeRules : LocalRules {
  static LoopNest describe(ReshapeOp op) {
    LoopNest nest(op->getContext());
    ArrayRef<int64_t> in = shapeOf(op.getOperand()), out = op.getType().getShape();
    SmallVector<AffineExpr> inExprs(in.size()), outExprs(out.size());
    auto inner = [&](StringRef side, size_t d) {
      return nest.fixed("dim " + std::to_string(d) + " of the " + side.str() +
                        ", which a reshape merges or divides");
    };
    size_t i = 0, o = 0;
    while (i < in.size() || o < out.size()) {
      // Size-1 dims stand alone.
      if (i < in.size() && in[i] == 1) {
        inExprs[i++] = nest.parallel();
        continue;
      }
      if (o < out.size() && out[o] == 1) {
        outExprs[o++] = nest.parallel();
        continue;
      }
      if (i == in.size() || o == out.size())
        break; // a zero-size tensor: nothing left to pair
      // One run: grow the smaller side until the counts meet.
      AffineExpr outer = nest.parallel();
      inExprs[i] = outer;
      outExprs[o] = outer;
      int64_t inCount = in[i++], outCount = out[o++];
      while (inCount != outCount && (i < in.size() || o < out.size())) {
        if (inCount < outCount && i < in.size()) {
          inExprs[i] = inner("operand", i);
          inCount *= in[i++];
        } else if (o < out.size()) {
          outExprs[o] = inner("result", o);
          outCount *= out[o++];
        } else {
          break;
        }
      }
    }
    for (size_t d = 0; d < in.size(); ++d)
      if (!inExprs[d])
        inExprs[d] = inner("operand", d);
    for (size_t d = 0; d < out.size(); ++d)
      if (!outExprs[d])
        outExprs[d] = inner("result", d);
    nest.index(inExprs);
    nest.index(outExprs);
    return nest;
  }
};

/// transpose: result dim i is operand dim permutation[i].
struct TransposeRules : LocalRules {
  static LoopNest describe(TransposeOp op) {
    LoopNest nest(op->getContext());
    ArrayRef<int64_t> perm = op.getPermutation();
    SmallVector<AffineExpr> out = nest.parallel(perm.size()), in(perm.size());
    for (auto [i, p] : llvm::enumerate(perm))
      in[p] = out[i];
    nest.index(in);
    nest.index(out);
    return nest;
  }
};

/// Loops for a value with one fixed dim `axis` (split, concat, slice): the
/// other dims take `shared`.
SmallVector<AffineExpr> withFixedAxis(LoopNest &nest,
                                      ArrayRef<AffineExpr> shared,
                                      int64_t axis, StringRef why) {
  SmallVector<AffineExpr> exprs(shared.begin(), shared.end());
  exprs[axis] = nest.fixed(why.str());
  return exprs;
}

/// split and concat along `axis`: that dim is fixed on every side.
struct SplitRules : LocalRules {
  static LoopNest describe(SplitOp op) {
    LoopNest nest(op->getContext());
    int64_t axis = op.getAxis();
    SmallVector<AffineExpr> shared = nest.parallel(shapeOf(op.getOperand()).size());
    std::string why = "the split axis " + std::to_string(axis);
    nest.index(withFixedAxis(nest, shared, axis, why));
    for (size_t r = 0; r < op.getNumResults(); ++r)
      nest.index(withFixedAxis(nest, shared, axis, why));
    return nest;
  }
};

struct ConcatRules : LocalRules {
  static LoopNest describe(ConcatOp op) {
    LoopNest nest(op->getContext());
    int64_t axis = op.getAxis();
    SmallVector<AffineExpr> shared = nest.parallel(op.getType().getRank());
    std::string why = "the concatenated axis " + std::to_string(axis);
    for (size_t i = 0; i < op.getNumOperands(); ++i)
      nest.index(withFixedAxis(nest, shared, axis, why));
    nest.index(withFixedAxis(nest, shared, axis, why));
    return nest;
  }
};

/// slice: a dim taken whole keeps one loop; a cut dim is fixed. On a
/// rank, a whole dim is the local one.
struct SliceRules {
  static LoopNest describe(SliceOp op) {
    LoopNest nest(op->getContext());
    ArrayRef<int64_t> in = shapeOf(op.getOperand());
    SmallVector<AffineExpr> inExprs, outExprs;
    for (size_t d = 0; d < in.size(); ++d) {
      bool whole = op.getStart()[d] == 0 && op.getLimit()[d] == in[d] &&
                   op.getStride()[d] == 1;
      inExprs.push_back(whole ? nest.parallel()
                              : nest.fixed("the sliced dim " + std::to_string(d)));
      outExprs.push_back(whole ? inExprs.back()
                               : nest.fixed("the sliced dim " + std::to_string(d)));
    }
    nest.index(inExprs);
    nest.index(outExprs);
    return nest;
  }
  static LogicalResult partition(SliceOp op, Partitioning &p) {
    ArrayRef<int64_t> whole = shapeOf(op.getOperand());
    ArrayRef<int64_t> local = shapeOf(p.operands[0]);
    SmallVector<int64_t> limit(op.getLimit());
    for (size_t d = 0; d < whole.size(); ++d)
      if (local[d] != whole[d])
        limit[d] = local[d]; // only a whole dim can be split
    p.map.map(op.getResult(),
              SliceOp::create(p.b, op.getLoc(), p.operands[0],
                              op.getStartAttr(),
                              p.b.getDenseI64ArrayAttr(limit),
                              op.getStrideAttr()));
    return success();
  }
};

/// `inside` (shaped like the indices) as 1 or 0 in `like`'s element type,
/// placed at dim `axis` of a value with `rank` dims that holds the index
/// dims there, for a broadcast multiply.
Value maskAt(Partitioning &p, Value inside, int64_t axis, int64_t rank,
             Type element) {
  ArrayRef<int64_t> index = shapeOf(inside);
  SmallVector<int64_t> shape(axis, 1);
  shape.append(index.begin(), index.end());
  shape.resize(rank, 1);
  Location loc = p.op->getLoc();
  Value placed = ReshapeOp::create(
      p.b, loc, RankedTensorType::get(shape, p.b.getI1Type()), inside);
  return CastOp::create(p.b, loc, RankedTensorType::get(shape, element), placed);
}

/// gather: the gathered dim of the table is summed over (each output row
/// comes from one table row): split over ranks (a vocabulary-parallel
/// embedding), each rank gathers the rows it holds, zeros the others, and
/// an all-reduce adds the parts (exactly: one part is the row, the rest
/// are zeros).
struct GatherRules {
  static LoopNest describe(GatherOp op) {
    LoopNest nest(op->getContext());
    int64_t axis = op.getAxis();
    int64_t indexRank = shapeOf(op.getIndices()).size();
    SmallVector<AffineExpr> out = nest.parallel(op.getType().getRank());
    SmallVector<AffineExpr> in(out.begin(), out.begin() + axis);
    in.push_back(nest.reduction());
    in.append(out.begin() + axis + indexRank, out.end());
    nest.index(in);
    nest.index(ArrayRef<AffineExpr>(out).slice(axis, indexRank));
    nest.index(out);
    return nest;
  }
  static LogicalResult partition(GatherOp op, Partitioning &p) {
    int64_t rank = op.getType().getRank();
    SmallVector<shard::GridAxis> axes =
        p.axesOf({getAffineDimExpr(rank, op->getContext())});
    if (axes.empty()) {
      p.keepAsIs();
      return success();
    }
    int64_t axis = op.getAxis();
    FailureOr<BlockIndices> block =
        blockIndices(p, p.operands[1], shapeOf(p.operands[0])[axis],
                     shapeOf(op.getOperand())[axis], axes, std::nullopt);
    if (failed(block))
      return failure();
    Location loc = op.getLoc();
    RankedTensorType local = p.localType(0);
    // (padding_idx only marks the gradient, built before the split.)
    Value rows = GatherOp::create(p.b, loc, p.operands[0], block->shifted,
                                  op.getAxis(), IntegerAttr());
    Value mask = maskAt(p, block->inside, axis, rank, local.getElementType());
    p.map.map(op.getResult(),
              p.allReduce(MulOp::create(p.b, loc, rows, mask), axes,
                          shard::ReductionKind::Sum));
    return success();
  }
};

/// scatter_add: result[..., indices[j...], ...] += updates[..., j..., ...].
/// The index dims are summed: split, each rank scatters its part and an
/// all-reduce adds them. The scattered-into dim split over ranks (the
/// weight gradient of a vocabulary-parallel embedding): each rank adds the
/// updates whose index falls in its rows (and, its indices split too, an
/// all-reduce over their axes sums the parts).
struct ScatterAddRules {
  static LoopNest describe(ScatterAddOp op) {
    LoopNest nest(op->getContext());
    int64_t axis = op.getAxis();
    int64_t indexRank = shapeOf(op.getIndices()).size();
    SmallVector<AffineExpr> out = nest.parallel(op.getType().getRank());
    SmallVector<AffineExpr> index;
    for (int64_t j = 0; j < indexRank; ++j)
      index.push_back(nest.reduction());
    SmallVector<AffineExpr> updates(out.begin(), out.begin() + axis);
    updates.append(index);
    updates.append(out.begin() + axis + 1, out.end());
    nest.index(updates);
    nest.index(index);
    if (op.getInit())
      nest.index(out);
    nest.index(out);
    return nest;
  }
  static LogicalResult partition(ScatterAddOp op, Partitioning &p) {
    // accel-accumulate-in-place forms `init` after sharding, at lowering.
    if (op.getInit())
      return op.emitOpError("with init is formed after sharding; shard the "
                            "step before accel-accumulate-in-place");
    int64_t axis = op.getAxis();
    SmallVector<shard::GridAxis> rows =
        p.axesOf({getAffineDimExpr(axis, op->getContext())});
    if (rows.empty())
      return p.reduceAcrossRanks(
          shard::ReductionKind::Sum, [&](RankedTensorType local) -> Value {
            return ScatterAddOp::create(
                p.b, op.getLoc(), local, p.operands[0], p.operands[1], Value(),
                op.getAxisAttr(), op.getSkipIndexAttr());
          });
    // Indices split too (a batch over dp, the rows over tp): each rank
    // adds its rows of its part of the updates, an all-reduce over the
    // index axes the parts.
    SmallVector<AffineExpr> indexLoops;
    int64_t rank = op.getType().getRank();
    for (int64_t j = 0; j < static_cast<int64_t>(shapeOf(op.getIndices()).size()); ++j)
      indexLoops.push_back(getAffineDimExpr(rank + j, op->getContext()));
    SmallVector<shard::GridAxis> summed = p.axesOf(indexLoops);
    RankedTensorType local = p.localType(0);
    std::optional<int64_t> skip;
    if (auto attr = op.getSkipIndexAttr())
      skip = attr.getInt();
    FailureOr<BlockIndices> block =
        blockIndices(p, p.operands[1], local.getDimSize(axis),
                     op.getType().getDimSize(axis), rows, skip);
    if (failed(block))
      return failure();
    Location loc = op.getLoc();
    auto updates = cast<RankedTensorType>(p.operands[0].getType());
    Value mask = maskAt(p, block->inside, axis, updates.getRank(),
                        updates.getElementType());
    Value kept = MulOp::create(p.b, loc, p.operands[0], mask);
    Value scattered =
        ScatterAddOp::create(p.b, loc, local, kept, block->shifted, Value(),
                             op.getAxisAttr(), IntegerAttr());
    p.map.map(op.getResult(),
              summed.empty() ? scattered
                             : p.allReduce(scattered, summed,
                                           shard::ReductionKind::Sum));
    return success();
  }
};

} // namespace

void sharding::attachDataMovementModels(MLIRContext *ctx) {
  attach<ConstantRules, ConstantOp>(ctx);
  attach<ReshapeRules, ReshapeOp>(ctx);
  attach<TransposeRules, TransposeOp>(ctx);
  attach<SplitRules, SplitOp>(ctx);
  attach<ConcatRules, ConcatOp>(ctx);
  attach<SliceRules, SliceOp>(ctx);
  attach<GatherRules, GatherOp>(ctx);
  attach<ScatterAddRules, ScatterAddOp>(ctx);
}
