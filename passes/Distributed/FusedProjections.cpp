//===- FusedProjections.cpp - A fused projection split into its parts ----===//
//
// GPT-2's c_attn computes q, k and v side by side: a contiguous block of
// its output is not a block of heads, and upstream's shardings are
// contiguous. Split into one projection per part on a slice of the weight,
// each part splits over tp as a column-parallel projection does.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Distributed/FunctionLayout.h"
#include "passes/Distributed/TensorParallelPlan.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace accel;

/// A fused projection's parts, each a column-parallel projection of its
/// own: `split(linear(x, W, b))` (through a reshape) along the features
/// becomes one linear per part on a slice of W and b, so that each part's
/// block over tp is a block of its heads. W stays whole (each rank slices
/// its columns: no communication); its gradient, summed from the parts'
/// gradients, is whole too. Returns the slices to split, with the dim.
FailureOr<SmallVector<std::pair<Value, int64_t>>>
accel::splitFusedProjections(func::FuncOp func, int64_t tp) {
  SmallVector<std::pair<Value, int64_t>> parts;
  if (tp == 1)
    return parts;
  SmallVector<LinearOp> fused;
  DenseSet<Value> seen;
  func.walk([&](LinearOp linear) {
    auto weight = dyn_cast<BlockArgument>(readParameter(linear.getWeight()));
    if (!weight || !seen.insert(weight).second)
      return; // only the forward use (the first)
    auto name =
        func.getArgAttrOfType<StringAttr>(weight.getArgNumber(), "accel.param");
    if (name &&
        tensorParallelRole(name.getValue()) == TensorParallelRole::FusedColumn)
      fused.push_back(linear);
  });
  for (LinearOp linear : fused) {
    Value y = linear.getResult();
    if (!y.hasOneUse())
      continue;
    auto reshape = dyn_cast<ReshapeOp>(*y.getUsers().begin());
    Value splitInput = reshape ? reshape.getResult() : y;
    if ((reshape && !splitInput.hasOneUse()) || splitInput.use_empty())
      continue;
    auto split = dyn_cast<SplitOp>(*splitInput.getUsers().begin());
    auto inputType = cast<RankedTensorType>(splitInput.getType());
    if (!split || split.getAxis() != inputType.getRank() - 1 ||
        cast<RankedTensorType>(y.getType()).getShape().back() !=
            inputType.getShape().back())
      continue;
    auto wType = cast<RankedTensorType>(linear.getWeight().getType());
    int64_t outDim = linear.getWeightInOut() ? 1 : 0;
    int64_t count = split.getNumResults();
    int64_t width = wType.getDimSize(outDim) / count;
    for (Value piece : split.getResults())
      if (cast<RankedTensorType>(piece.getType()).getShape().back() != width)
        return split.emitOpError("accel-shard: a fused projection's parts "
                                 "must be equal to split over tp");
    if (width % tp)
      return linear.emitOpError("accel-shard: each of the ")
             << count << " parts of this fused projection has " << width
             << " features, which do not divide over the tp axis of size "
             << tp;
    OpBuilder b(split);
    Location loc = linear.getLoc();
    auto sliceOf = [&](Value v, int64_t dim, int64_t j) -> Value {
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> start(t.getRank(), 0), limit(t.getShape()),
          stride(t.getRank(), 1);
      start[dim] = j * width;
      limit[dim] = (j + 1) * width;
      return SliceOp::create(b, loc, v, b.getDenseI64ArrayAttr(start),
                             b.getDenseI64ArrayAttr(limit),
                             b.getDenseI64ArrayAttr(stride));
    };
    auto yType = cast<RankedTensorType>(y.getType());
    SmallVector<int64_t> partShape(yType.getShape());
    partShape.back() = width;
    for (int64_t j = 0; j < count; ++j) {
      Value w = sliceOf(linear.getWeight(), outDim, j);
      Value bias = linear.getBias() ? sliceOf(linear.getBias(), 0, j) : Value();
      parts.push_back({w, outDim});
      if (bias)
        parts.push_back({bias, 0});
      Value part = LinearOp::create(
          b, loc, RankedTensorType::get(partShape, yType.getElementType()),
          linear.getInput(), w, bias, linear.getWeightInOutAttr());
      if (reshape)
        part = ReshapeOp::create(b, loc, split.getResult(j).getType(), part);
      split.getResult(j).replaceAllUsesWith(part);
    }
    split.erase();
    if (reshape)
      reshape.erase();
    linear.erase();
  }
  return parts;
}
