//===- FunctionLayout.cpp - A layout written into one function -----------===//
//
// The annotations accel-shard gives one function, in the order they are
// made: the tp dim of every tensor from Megatron's plan, the arguments as
// stored (and parameters as ops read them), fused projections' parts, the
// sequence-parallel activations, the optimizer's operands and results, the
// function's results, and the grid in its metadata.
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/FunctionLayout.h"
#include "dialects/Accel/AccelOps.h"
#include "passes/Distributed/TensorParallelPlan.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"

#include <map>

using namespace mlir;
using namespace accel;

namespace {

/// Where a tensor's dims split: one over tp (Megatron's plan), one over dp
/// (ZeRO's storage, or a batch); -1 for none.
struct Layout {
  int64_t tpDim = -1, dpDim = -1;
  Layout wholeOverDp() const { return {tpDim, -1}; }
  bool operator==(const Layout &o) const {
    return tpDim == o.tpDim && dpDim == o.dpDim;
  }
};

class FunctionLayout {
public:
  FunctionLayout(func::FuncOp func, const LayoutOptions &options)
      : func(func), dp(options.dp), tp(options.tp), zero(options.zero),
        sp(options.sp), entry(func.getBody().front()),
        b(OpBuilder::atBlockBegin(&entry)), loc(func.getLoc()) {
    if (dp > 1)
      axes.push_back({"dp", dp});
    if (tp > 1)
      axes.push_back({"tp", tp});
  }

  /// Batch inputs split along dim 0 over dp; parameters split over tp as
  /// Megatron's plan says; under ZeRO, optimizer state (zero>=1) and
  /// parameters (zero=3) stored split over dp too. An op uses a parameter
  /// split over tp only (one split over dp is gathered first), except the
  /// updates, which work on the stored split of every tensor, as the
  /// gradient norm reads the gradients.
  LogicalResult annotate(ArrayRef<std::pair<Value, int64_t>> fusedParts) {
    if (failed(findTensorParallelDims()) || failed(annotateArguments()))
      return failure();
    annotateFusedParts(fusedParts);
    if (sp)
      splitSequence();
    annotateUpdates();
    annotateResults();
    recordGrid();
    return success();
  }

private:
  int64_t axisIndex(StringRef name) const {
    for (auto [i, axis] : llvm::enumerate(axes))
      if (axis.first == name)
        return i;
    return -1;
  }

  /// The dim a parameter, gradient or optimizer state of `type` is split
  /// along over dp under ZeRO: dim 0 where it divides (as FSDP2 splits),
  /// else the first dim that does (an embedding table of an odd vocabulary
  /// splits its features), never the dim tp splits; -1 when none does (it
  /// stays whole over dp).
  int64_t zeroDim(Type type, int64_t tpDim) const {
    auto t = dyn_cast<RankedTensorType>(type);
    for (int64_t d = 0; t && dp > 1 && d < t.getRank(); ++d)
      if (d != tpDim && t.getDimSize(d) % dp == 0)
        return d;
    return -1;
  }
  /// How an argument of `role` ("param", "state") is stored.
  Layout stored(StringRef role, Type type, int64_t tpDim) const {
    bool zeroSplit =
        (role == "state" && zero >= 1) || (role == "param" && zero >= 3);
    return {tpDim, zeroSplit ? zeroDim(type, tpDim) : -1};
  }

  /// Megatron's plan for parameter `name` (argument `param`): the dim tp
  /// splits, or -1. A dim that does not divide is an error, except the
  /// vocabulary's (an odd one, as GPT-2's 50257, stays whole: Megatron
  /// pads it, which would change the model).
  FailureOr<int64_t> tensorParallelDimOf(Value param, StringRef name) {
    if (tp == 1)
      return -1;
    TensorParallelRole role = tensorParallelRole(name);
    int64_t d = tensorParallelDim(param, name, role);
    if (d < 0)
      return -1;
    auto type = cast<RankedTensorType>(param.getType());
    if (type.getDimSize(d) % tp == 0)
      return d;
    if (role == TensorParallelRole::Vocabulary || name.starts_with("lm_head"))
      return -1;
    return func.emitError("accel-shard: parameter '")
           << name << "' of @" << func.getSymName() << " " << type << " is "
           << roleName(role) << ": its dim " << d << " of size "
           << type.getDimSize(d) << " does not divide over the tp axis of size "
           << tp;
  }

  /// The sharding op of `layout` (one per layout, at the top). Nothing
  /// split is written [[]] as upstream does (its resharding crashes on an
  /// empty list).
  Value sharding(Layout layout) {
    Value &op = shardings[{layout.tpDim, layout.dpDim}];
    if (op)
      return op;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    int64_t dpAxis = axisIndex("dp"), tpAxis = axisIndex("tp");
    int64_t last = std::max<int64_t>({layout.tpDim, layout.dpDim, 0});
    SmallVector<shard::GridAxesAttr> split;
    for (int64_t d = 0; d <= last; ++d) {
      SmallVector<shard::GridAxis> along;
      if (d == layout.dpDim && dpAxis >= 0)
        along.push_back(dpAxis);
      if (d == layout.tpDim && tpAxis >= 0)
        along.push_back(tpAxis);
      split.push_back(shard::GridAxesAttr::get(func.getContext(), along));
    }
    op = shard::ShardingOp::create(
             b, loc, FlatSymbolRefAttr::get(func.getContext(), kGridSymbol),
             split)
             .getResult();
    return op;
  }
  /// The runtime's record of a stored split: an axis name per dim.
  ArrayAttr splitAttr(RankedTensorType type, Layout layout) {
    SmallVector<StringRef> names(type.getRank(), "");
    if (layout.dpDim >= 0)
      names[layout.dpDim] = "dp";
    if (layout.tpDim >= 0)
      names[layout.tpDim] = "tp";
    return b.getStrArrayAttr(names);
  }

  /// The tp dim of every parameter, of its optimizer state and of its
  /// gradient (what an update reads beside the parameter).
  LogicalResult findTensorParallelDims() {
    for (BlockArgument arg : func.getArguments()) {
      auto name =
          func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "accel.param");
      if (!name || !isa<RankedTensorType>(arg.getType()))
        continue;
      FailureOr<int64_t> d = tensorParallelDimOf(arg, name.getValue());
      if (failed(d))
        return failure();
      tpDimOf[arg] = *d;
    }
    func.walk([&](Operation *op) {
      if (!isa<AdamWOp, SgdOp>(op))
        return;
      int64_t d = tpDimOf.lookup_or(op->getOperand(0), -1);
      tpDimOfUpdate[op] = d;
      for (Value operand : op->getOperands())
        if (cast<RankedTensorType>(operand.getType()).getRank() > 0)
          tpDimOf[operand] = d;
    });
    // Loss scaling: a scaled gradient is split as the unscaled one its
    // update reads.
    func.walk([&](UnscaleGradientsOp op) {
      for (auto [scaled, unscaled] : llvm::zip(op.getGrads(), op.getUnscaled()))
        tpDimOf[scaled] = tpDimOf.lookup_or(unscaled, -1);
    });
    return success();
  }

  /// Each argument as stored: split, and for ops to read (a parameter
  /// stored split over dp is read whole over dp: upstream gathers it).
  LogicalResult annotateArguments() {
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.getRank() == 0)
        continue;
      unsigned i = arg.getArgNumber();
      auto input = func.getArgAttrOfType<StringAttr>(i, "accel.input");
      auto name = func.getArgAttrOfType<StringAttr>(i, "accel.param");
      StringRef role = name                                ? "param"
                       : func.getArgAttr(i, "accel.state") ? "state"
                                                           : "";
      if (!name)
        name = func.getArgAttrOfType<StringAttr>(i, "accel.state");
      if (input && dp > 1 && type.getDimSize(0) % dp)
        return func.emitError("accel-shard: input '")
               << input.getValue() << "' of @" << func.getSymName() << " "
               << type << ": its batch dim 0 of size " << type.getDimSize(0)
               << " does not divide over the dp axis of size " << dp;
      Layout layout;
      if (input && dp > 1)
        layout.dpDim = 0;
      else if (!role.empty())
        layout = stored(role, type, tpDimOf.lookup_or(arg, -1));
      if (name)
        storedLayout[name.getValue()] = layout;
      if (layout.tpDim >= 0 || layout.dpDim >= 0)
        func.setArgAttr(i, kSplitAttr, splitAttr(type, layout));
      Value annotated;
      Operation *reader; // the one op that reads the argument itself
      if (role == "param" && layout.dpDim >= 0) {
        // Stored split over dp, used whole over dp: upstream gathers it
        // before its users.
        Value shard = shard::ShardOp::create(b, loc, arg, sharding(layout));
        reader = shard.getDefiningOp();
        annotated = shard::ShardOp::create(b, loc, shard,
                                           sharding(layout.wholeOverDp()),
                                           /*annotate_for_users=*/true);
        ownShard[annotated] = shard;
      } else {
        annotated = shard::ShardOp::create(b, loc, arg, sharding(layout),
                                           /*annotate_for_users=*/true);
        reader = annotated.getDefiningOp();
      }
      arg.replaceAllUsesExcept(annotated, reader);
      if (role == "param" && layout.tpDim >= 0)
        tensorParallel[annotated] = tensorParallelRole(name.getValue());
    }
    return success();
  }

  /// A fused projection's parts, each split over tp as a column-parallel
  /// weight (FusedProjections.cpp).
  void annotateFusedParts(ArrayRef<std::pair<Value, int64_t>> fusedParts) {
    for (auto [slice, dim] : fusedParts) {
      b.setInsertionPointAfterValue(slice);
      Value split =
          shard::ShardOp::create(b, loc, slice, sharding(Layout{dim, -1}),
                                 /*annotate_for_users=*/true);
      slice.replaceAllUsesExcept(split, split.getDefiningOp());
      tensorParallel[split] = TensorParallelRole::Column;
    }
  }

  /// Megatron's sequence parallelism: the activations between the
  /// tensor-parallel regions ([batch, sequence, features], the residual
  /// stream through norms, adds and dropout) split along the sequence over
  /// tp. A column-parallel projection (and the loss head) reads its input
  /// whole over tp (an all-gather along the sequence); a row-parallel one,
  /// and a vocabulary-parallel embedding, hand their completed sum on
  /// split (an all-reduce and a slice, fused into a reduce-scatter). Only
  /// the forward pass is annotated: the backward pass follows it.
  void splitSequence() {
    OpBuilder b(func.getContext());
    int64_t batch = dp > 1 ? 0 : -1;
    auto activation = [](Value v) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      return t && t.getRank() >= 3;
    };
    // Weights whose forward use is annotated (a tied embedding has two:
    // its lookup and the head).
    DenseSet<Value> looked, used;
    auto wholeInput = [&](Operation *op, unsigned operand) {
      Value x = op->getOperand(operand);
      if (!activation(x))
        return;
      b.setInsertionPoint(op);
      op->setOperand(operand, shard::ShardOp::create(
                                  b, loc, x, sharding(Layout{-1, batch}),
                                  /*annotate_for_users=*/true));
    };
    auto splitResult = [&](Operation *op) {
      Value y = op->getResult(0);
      if (!activation(y))
        return;
      b.setInsertionPointAfter(op);
      Value whole =
          shard::ShardOp::create(b, loc, y, sharding(Layout{-1, batch}));
      Value split =
          shard::ShardOp::create(b, loc, whole, sharding(Layout{1, batch}),
                                 /*annotate_for_users=*/true);
      y.replaceAllUsesExcept(split, whole.getDefiningOp());
    };
    func.walk([&](Operation *op) {
      Value weight;
      if (auto linear = dyn_cast<LinearOp>(op))
        weight = linear.getWeight();
      else if (auto head = dyn_cast<LinearCrossEntropyOp>(op))
        weight = head.getWeight();
      else if (auto gather = dyn_cast<GatherOp>(op))
        weight = gather.getOperand();
      auto role = weight ? tensorParallel.find(weight) : tensorParallel.end();
      if (role == tensorParallel.end() ||
          !(isa<GatherOp>(op) ? looked : used).insert(weight).second)
        return;
      if (isa<GatherOp>(op))
        splitResult(op);
      else if (role->second == TensorParallelRole::Row)
        splitResult(op);
      else
        wholeInput(op, 0);
    });
  }

  /// The optimizer's operands and results.
  void annotateUpdates() {
    // Said explicitly (propagation need not
    // search the shardings of global_norm's many operands: it enumerates
    // their combinations, 2^n): split over tp as their parameter, and
    // under ZeRO over dp where they divide, so each rank updates its shard.
    std::map<std::tuple<void *, int64_t, int64_t>, Value> annotatedFor;
    func.walk([&](Operation *op) {
      if (!isa<GlobalNormOp, UnscaleGradientsOp, AdamWOp, SgdOp>(op))
        return;
      // Gradients (global_norm's, unscale_gradients') are split as their
      // parameters; an update's operands as its parameter.
      bool readsGradients = isa<GlobalNormOp, UnscaleGradientsOp>(op);
      b.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || type.getRank() == 0)
          continue;
        int64_t tpDim = readsGradients ? tpDimOf.lookup_or(v, -1)
                                       : tpDimOfUpdate.lookup(op);
        Layout layout{tpDim, zero >= 1 ? zeroDim(type, tpDim) : -1};
        if (layout.dpDim >= 0 && ownShard.count(v)) {
          operand.set(ownShard[v]);
          continue;
        }
        // An argument stored as the update reads it (said for its users; a
        // result's annotation, as the unscaled gradients', is said again
        // for this op, or propagation would try both ways for each).
        auto argument = v.getDefiningOp<shard::ShardOp>();
        if (argument && argument.getAnnotateForUsers() &&
            argument.getSharding() == sharding(layout))
          continue;
        Value &annotated =
            annotatedFor[{v.getAsOpaquePointer(), layout.tpDim, layout.dpDim}];
        if (!annotated && layout.dpDim >= 0 && !argument) {
          // Computed whole over dp (a gradient summed over every rank's
          // rows), then split for the update: an all-reduce and a slice,
          // which accel-lower-collectives fuses into a reduce-scatter. Left
          // to propagation, the split would travel back into the
          // gradient's producer and reshuffle activations instead.
          Value whole =
              shard::ShardOp::create(b, loc, v, sharding(layout.wholeOverDp()));
          annotated = shard::ShardOp::create(b, loc, whole, sharding(layout),
                                             /*annotate_for_users=*/true);
        } else if (!annotated) {
          annotated = shard::ShardOp::create(b, loc, v, sharding(layout),
                                             /*annotate_for_users=*/true);
        }
        operand.set(annotated);
      }
      // An update's results (and the unscaled gradients) are split as its
      // operands are.
      if (isa<GlobalNormOp>(op))
        return;
      b.setInsertionPointAfter(op);
      for (Value result : op->getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type || type.getRank() == 0)
          continue;
        int64_t tpDim = readsGradients ? tpDimOf.lookup_or(result, -1)
                                       : tpDimOfUpdate.lookup(op);
        Layout layout{tpDim, zero >= 1 ? zeroDim(type, tpDim) : -1};
        // Every unscaled gradient is said, whole ones too: propagation
        // tries both ways for each one left open (2^n combinations).
        if (layout == Layout{} && !readsGradients)
          continue;
        auto annotated =
            shard::ShardOp::create(b, loc, result, sharding(layout));
        result.replaceAllUsesExcept(annotated, annotated);
      }
    });
  }

  void annotateResults() {
    // Results: an update is returned as its argument is stored; the rest
    // whole (updated parameters gathered over dp under ZeRO-1/2).
    Operation *ret = entry.getTerminator();
    b.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type || type.getRank() == 0)
        continue;
      unsigned i = operand.getOperandNumber();
      Layout layout;
      if (auto updates =
              func.getResultAttrOfType<StringAttr>(i, "accel.update"))
        layout = storedLayout.lookup(updates.getValue());
      if (!(layout == Layout{}))
        func.setResultAttr(i, kSplitAttr, splitAttr(type, layout));
      operand.set(shard::ShardOp::create(b, loc, operand.get(),
                                         sharding(layout),
                                         /*annotate_for_users=*/true));
    }
  }

  void recordGrid() {
    // What the runtime needs to build its communicators and split batches.
    NamedAttrList metadata;
    if (auto given = func->getAttrOfType<DictionaryAttr>("accel.metadata"))
      metadata.append(given.getValue());
    std::string names, sizes;
    for (auto [name, size] : axes) {
      names += (names.empty() ? "" : ",") + name.str();
      sizes += (sizes.empty() ? "" : ",") + std::to_string(size);
    }
    metadata.set("grid_axes", b.getStringAttr(names));
    metadata.set("grid_shape", b.getStringAttr(sizes));
    if (zero)
      metadata.set("zero", b.getStringAttr(std::to_string(zero)));
    func->setAttr("accel.metadata", metadata.getDictionary(func.getContext()));
  }

  func::FuncOp func;
  int64_t dp, tp, zero;
  bool sp;
  Block &entry;
  OpBuilder b;
  Location loc;
  /// The grid's axes (those of more than one rank), in order dp, tp.
  SmallVector<std::pair<StringRef, int64_t>> axes;
  std::map<std::pair<int64_t, int64_t>, Value> shardings;
  DenseMap<Value, int64_t> tpDimOf;
  DenseMap<Operation *, int64_t> tpDimOfUpdate;
  /// The value an update op reads for each parameter stored split over
  /// dp: the stored shard itself, not its gathered whole.
  DenseMap<Value, Value> ownShard;
  llvm::StringMap<Layout> storedLayout;
  /// Parameters split over tp as ops read them, with their role.
  DenseMap<Value, TensorParallelRole> tensorParallel;
};

} // namespace

LogicalResult accel::annotateLayout(func::FuncOp func,
                                    const LayoutOptions &options) {
  // First, as it replaces ops (the annotator's builder points at the
  // first op).
  FailureOr<SmallVector<std::pair<Value, int64_t>>> fusedParts =
      splitFusedProjections(func, options.tp);
  if (failed(fusedParts))
    return failure();
  return FunctionLayout(func, options).annotate(*fusedParts);
}
