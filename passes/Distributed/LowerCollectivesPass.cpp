//===- LowerCollectivesPass.cpp - shard collectives to accel's -----------===//
//
// Upstream's partition speaks of grid axes by number; the runtime runs a
// collective on a communicator named by its axes. This pass renames, and
// refuses whatever the runtime could not run.
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"
#include "dialects/Accel/AccelShardingRules.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

namespace accel {
#define GEN_PASS_DEF_LOWERCOLLECTIVESPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;
using sharding::groupName;

namespace {

FailureOr<Reduction> reductionOf(shard::AllReduceOp op) {
  switch (op.getReduction()) {
  case shard::ReductionKind::Sum:
    return Reduction::Sum;
  case shard::ReductionKind::Max:
    return Reduction::Max;
  case shard::ReductionKind::Min:
    return Reduction::Min;
  default:
    return op.emitOpError("reduces by ")
           << shard::stringifyReductionKind(op.getReduction())
           << ", which the runtime's collectives do not";
  }
}

/// The value of a constant of one repeated element, or null.
DenseElementsAttr splatOf(Value v) {
  auto constant = v.getDefiningOp<ConstantOp>();
  auto dense = constant ? dyn_cast<DenseElementsAttr>(constant.getValue())
                        : nullptr;
  return dense && dense.isSplat() ? dense : nullptr;
}

/// The sum over ranks that `slice` alone reads, when the two make one
/// reduce-scatter: same grid axes.
shard::AllReduceOp summedForSliceOnly(shard::AllSliceOp slice) {
  auto reduce = slice.getInput().getDefiningOp<shard::AllReduceOp>();
  if (!reduce || !reduce->hasOneUse() ||
      reduce.getReduction() != shard::ReductionKind::Sum ||
      reduce.getGrid() != slice.getGrid() ||
      reduce.getGridAxes() != slice.getGridAxes())
    return nullptr;
  return reduce;
}

/// A low-precision sum completed in fp32 (Partitioning::allReduce) and
/// rounded: readers that widen the rounded sum again read the fp32 sum
/// itself, as DDP's fp32 gradients are the sum of each rank's bf16 ones.
/// A block of that sum then meets its all_slice as one reduce-scatter.
void keepSumWide(shard::AllReduceOp reduce) {
  auto wide = cast<RankedTensorType>(reduce.getType());
  if (!wide.getElementType().isF32())
    return;
  for (Operation *user : llvm::make_early_inc_range(reduce->getUsers())) {
    auto narrow = dyn_cast<CastOp>(user);
    if (!narrow)
      continue;
    for (Operation *reader : llvm::make_early_inc_range(narrow->getUsers()))
      if (auto widen = dyn_cast<CastOp>(reader);
          widen && widen.getType() == wide) {
        widen.replaceAllUsesWith(reduce.getResult());
        widen.erase();
      }
    if (narrow->use_empty())
      narrow.erase();
  }
}

/// all_slice(add(all_reduce(x), bias)), the bias the same along the slice
/// axis (a row-parallel projection's, added once after the sum, its block
/// handed on split under sequence parallelism): the slice moves before the
/// add, where it takes the sum with it into a reduce-scatter.
void sliceBeforeBias(shard::AllSliceOp slice) {
  if (auto rounded = slice.getInput().getDefiningOp<CastOp>();
      rounded && rounded->hasOneUse()) {
    // A bf16 projection's sum is biased in fp32 and then rounded: the
    // slice goes before the rounding (elementwise) to reach the add.
    OpBuilder b(slice);
    auto wide = cast<RankedTensorType>(rounded.getOperand().getType());
    auto block = cast<RankedTensorType>(slice.getType());
    auto moved = shard::AllSliceOp::create(
        b, slice.getLoc(), block.clone(wide.getElementType()),
        rounded.getOperand(), slice.getGrid(), slice.getGridAxes(),
        slice.getSliceAxis().getSExtValue());
    slice.replaceAllUsesWith(
        CastOp::create(b, rounded.getLoc(), block, moved.getResult())
            .getResult());
    slice.erase();
    rounded.erase();
    slice = moved;
  }
  auto add = slice.getInput().getDefiningOp<AddOp>();
  if (!add || !add->hasOneUse())
    return;
  int64_t axis = slice.getSliceAxis().getSExtValue();
  auto whole = cast<RankedTensorType>(add.getType());
  for (unsigned side : {0u, 1u}) {
    Value summed = add->getOperand(side), bias = add->getOperand(1 - side);
    auto reduce = summed.getDefiningOp<shard::AllReduceOp>();
    auto biasType = cast<RankedTensorType>(bias.getType());
    int64_t at = axis - (whole.getRank() - biasType.getRank());
    if (!reduce || !reduce->hasOneUse() || reduce.getType() != whole ||
        (at >= 0 && biasType.getDimSize(at) != 1))
      continue;
    OpBuilder b(slice);
    Value block = shard::AllSliceOp::create(
        b, slice.getLoc(), slice.getType(), summed, slice.getGrid(),
        slice.getGridAxes(), axis);
    Value sum = side == 0 ? AddOp::create(b, add.getLoc(), block, bias)
                          : AddOp::create(b, add.getLoc(), bias, block);
    slice.replaceAllUsesWith(sum);
    slice.erase();
    add.erase();
    return;
  }
}

struct LowerCollectivesPass
    : accel::impl::LowerCollectivesPassBase<LowerCollectivesPass> {
  void runOnOperation() override {
    SmallVector<shard::AllReduceOp> sums;
    getOperation().walk([&](shard::AllReduceOp op) { sums.push_back(op); });
    for (shard::AllReduceOp sum : sums)
      keepSumWide(sum);
    SmallVector<shard::AllSliceOp> slices;
    getOperation().walk([&](shard::AllSliceOp op) { slices.push_back(op); });
    for (shard::AllSliceOp slice : slices)
      sliceBeforeBias(slice);
    SmallVector<Operation *> shardOps;
    getOperation().walk([&](Operation *op) {
      if (isa<shard::ShardDialect>(op->getDialect()))
        shardOps.push_back(op);
    });
    // A slice comes after the all-reduce it reads: lower in reverse, so
    // that the slice can take the all-reduce with it.
    DenseSet<Operation *> erased;
    for (Operation *op : llvm::reverse(shardOps)) {
      if (erased.contains(op))
        continue;
      if (auto slice = dyn_cast<shard::AllSliceOp>(op))
        if (auto reduced = summedForSliceOnly(slice))
          erased.insert(reduced);
      if (failed(lower(op)))
        return signalPassFailure();
    }
  }

  LogicalResult lower(Operation *op) {
    OpBuilder b(op);
    Value replacement;
    if (auto reduce = dyn_cast<shard::AllReduceOp>(op)) {
      FailureOr<std::string> group =
          groupName(op, reduce.getGrid(), reduce.getGridAxes(), /*reduction=*/true);
      FailureOr<Reduction> kind = reductionOf(reduce);
      if (failed(group) || failed(kind))
        return failure();
      replacement = AllReduceOp::create(
          b, op->getLoc(), reduce.getInput(), b.getStringAttr(*group),
          ReductionAttr::get(op->getContext(), *kind));
    } else if (auto gather = dyn_cast<shard::AllGatherOp>(op)) {
      FailureOr<std::string> group =
          groupName(op, gather.getGrid(), gather.getGridAxes());
      if (failed(group))
        return failure();
      replacement = AllGatherOp::create(
          b, op->getLoc(), gather.getType(), gather.getInput(),
          b.getStringAttr(*group),
          b.getI64IntegerAttr(gather.getGatherAxis().getSExtValue()));
    } else if (auto slice = dyn_cast<shard::AllSliceOp>(op)) {
      auto local = cast<RankedTensorType>(slice.getType());
      FailureOr<std::string> group =
          groupName(op, slice.getGrid(), slice.getGridAxes());
      if (failed(group))
        return failure();
      if (auto reduced = summedForSliceOnly(slice)) {
        // Each rank keeps its block of a sum over ranks: a reduce-scatter
        // (upstream never makes one), half an all-reduce's traffic.
        replacement = ReduceScatterOp::create(
            b, op->getLoc(), local, reduced.getInput(), b.getStringAttr(*group),
            ReductionAttr::get(op->getContext(), Reduction::Sum),
            b.getI64IntegerAttr(slice.getSliceAxis().getSExtValue()));
        op->getResult(0).replaceAllUsesWith(replacement);
        op->erase();
        reduced->erase();
        return success();
      }
      if (DenseElementsAttr splat = splatOf(slice.getInput()))
        // Every rank's block of a splat is the splat at the block's shape.
        replacement =
            ConstantOp::create(b, op->getLoc(), local, splat.resizeSplat(local));
      else
        replacement = AllSliceOp::create(
            b, op->getLoc(), local, slice.getInput(), b.getStringAttr(*group),
            b.getI64IntegerAttr(slice.getSliceAxis().getSExtValue()));
    } else {
      return op->emitOpError("is left after partitioning; accel's runtime "
                             "cannot run it");
    }
    op->getResult(0).replaceAllUsesWith(replacement);
    op->erase();
    return success();
  }
};

} // namespace
