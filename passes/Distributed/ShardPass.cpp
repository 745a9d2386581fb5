//===- ShardPass.cpp - Split a module's functions over a grid of ranks ---===//
//
// States a layout as upstream `shard` annotations on every function's
// arguments and results, lets upstream's propagation and partition split
// the function through accel's ShardingInterface models, and lowers the
// collectives they leave. What is accel's here is only the layout (which
// values split along which axis) and the checks; the splitting is MLIR's.
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

namespace accel {
#define GEN_PASS_DEF_SHARDPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

constexpr StringLiteral kGrid = "grid";

struct ShardPass : accel::impl::ShardPassBase<ShardPass> {
  using ShardPassBase::ShardPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (dp < 1) {
      module.emitError("accel-shard: dp must be at least 1, not ") << dp;
      return signalPassFailure();
    }
    if (zero < 0 || zero > 3) {
      module.emitError("accel-shard: zero must be 0, 1, 2 or 3, not ")
          << static_cast<int64_t>(zero);
      return signalPassFailure();
    }
    if (dp == 1)
      return;
    if (SymbolTable::lookupSymbolIn(module, kGrid)) {
      module.emitError("accel-shard: the module is already sharded (it has "
                       "a symbol @grid)");
      return signalPassFailure();
    }
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto grid = shard::GridOp::create(b, module.getLoc(), kGrid,
                                      ArrayRef<int64_t>{dp});
    grid->setAttr("accel.axes", b.getStrArrayAttr({"dp"}));

    // Drop what nothing reads first (a training step's gradient of its
    // input, say): a value without users has no sharding to partition by.
    OpPassManager cleanup(ModuleOp::getOperationName());
    cleanup.nest<func::FuncOp>().addPass(createCanonicalizerPass());
    if (failed(runPipeline(cleanup, module)))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && failed(annotate(func)))
        return signalPassFailure();

    OpPassManager pm(ModuleOp::getOperationName());
    OpPassManager &perFunction = pm.nest<func::FuncOp>();
    shard::ShardingPropagationOptions propagation;
    propagation.traversal = shard::TraversalOrder::ForwardBackward;
    perFunction.addPass(shard::createShardingPropagation(propagation));
    perFunction.addPass(shard::createPartition());
    perFunction.addPass(createCanonicalizerPass());
    perFunction.addPass(createCSEPass());
    perFunction.addPass(createLowerCollectivesPass());
    if (zero >= 3)
      perFunction.addPass(createGatherBeforeUsePass());
    perFunction.addPass(createBucketCollectivesPass({bucketMb, zero >= 2}));
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
  }

  /// The dim a parameter, gradient or optimizer state of `type` is split
  /// along over dp under ZeRO: dim 0 where it divides (as FSDP2 splits),
  /// else the first dim that does (an embedding table of an odd vocabulary
  /// splits its features); -1 when none does (it stays whole).
  int64_t splitDim(Type type) const {
    auto t = dyn_cast<RankedTensorType>(type);
    for (int64_t d = 0; t && d < t.getRank(); ++d)
      if (t.getDimSize(d) % dp == 0)
        return d;
    return -1;
  }
  bool storedSplit(StringRef role, Type type) const {
    return splitDim(type) >= 0 && ((role == "state" && zero >= 1) ||
                                   (role == "param" && zero >= 3));
  }

  /// Batch inputs split along dim 0 over dp; under ZeRO, optimizer state
  /// (zero>=1) and parameters (zero=3) stored split too. Every op uses a
  /// parameter whole (a split one is gathered first), except the updates,
  /// which work on the split of every tensor that divides, as the gradient
  /// norm reads the gradients.
  LogicalResult annotate(func::FuncOp func) {
    MLIRContext *ctx = &getContext();
    Block &entry = func.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    Location loc = func.getLoc();
    auto gridRef = FlatSymbolRefAttr::get(ctx, kGrid);
    // Dim d split over axis 0 ([[], [0]] for d = 1), or nothing split
    // (written [[]] as upstream does: its resharding crashes on an empty
    // list). One sharding op per kind, at the top.
    SmallVector<Value> splits;
    auto gridAxes = [&](int64_t d) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&entry);
      SmallVector<shard::GridAxesAttr> axes;
      for (int64_t k = 0; k <= std::max<int64_t>(d, 0); ++k)
        axes.push_back(shard::GridAxesAttr::get(
            ctx, k == d ? ArrayRef<shard::GridAxis>{0}
                        : ArrayRef<shard::GridAxis>{}));
      return shard::ShardingOp::create(b, loc, gridRef, axes).getResult();
    };
    Value replicated = gridAxes(-1);
    auto splitAlong = [&](int64_t d) {
      if (static_cast<int64_t>(splits.size()) <= d)
        splits.resize(d + 1);
      if (!splits[d])
        splits[d] = gridAxes(d);
      return splits[d];
    };
    auto sharding = [&](int64_t d) { return d < 0 ? replicated : splitAlong(d); };
    auto splitAttr = [&](RankedTensorType type, int64_t d) {
      SmallVector<StringRef> axes(type.getRank(), "");
      axes[d] = "dp";
      return b.getStrArrayAttr(axes);
    };

    // The value an update op reads for each split parameter: the stored
    // shard itself, not its gathered whole.
    DenseMap<Value, Value> ownShard;
    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.getRank() == 0)
        continue;
      unsigned i = arg.getArgNumber();
      auto input = func.getArgAttrOfType<StringAttr>(i, "accel.input");
      StringRef role = func.getArgAttr(i, "accel.param")   ? "param"
                       : func.getArgAttr(i, "accel.state") ? "state"
                                                           : "";
      if (input && type.getDimSize(0) % dp)
        return func.emitError("accel-shard: input '")
               << input.getValue() << "' of @" << func.getSymName() << " "
               << type << ": its batch dim 0 of size " << type.getDimSize(0)
               << " does not divide over the dp axis of size " << dp;
      bool stored = input || storedSplit(role, type);
      int64_t d = input ? 0 : stored ? splitDim(type) : -1;
      if (stored)
        func.setArgAttr(i, kSplitAttr, splitAttr(type, d));
      Value annotated;
      Operation *reader; // the one op that reads the argument itself
      if (role == "param" && stored) {
        // Stored split, used whole: upstream gathers it before its users.
        Value shard = shard::ShardOp::create(b, loc, arg, sharding(d));
        reader = shard.getDefiningOp();
        annotated = shard::ShardOp::create(b, loc, shard, replicated,
                                           /*annotate_for_users=*/true);
        ownShard[annotated] = shard;
      } else {
        annotated = shard::ShardOp::create(b, loc, arg, sharding(d),
                                           /*annotate_for_users=*/true);
        reader = annotated.getDefiningOp();
      }
      arg.replaceAllUsesExcept(annotated, reader);
    }

    // The optimizer's operands, said explicitly (propagation need not
    // search the shardings of global_norm's many operands: it enumerates
    // their combinations, 2^n): whole under plain data parallelism, split
    // where they divide under ZeRO, so each rank updates its shard.
    DenseMap<std::pair<Value, int>, Value> annotatedFor;
    func.walk([&](Operation *op) {
      if (!isa<GlobalNormOp, AdamWOp, SgdOp>(op))
        return;
      b.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || type.getRank() == 0)
          continue;
        int64_t d = zero >= 1 ? splitDim(type) : -1;
        bool splitHere = d >= 0;
        if (splitHere && ownShard.count(v)) {
          operand.set(ownShard[v]);
          continue;
        }
        auto argument = v.getDefiningOp<shard::ShardOp>();
        if (argument && argument.getSharding() == sharding(d))
          continue; // an argument stored as the update reads it
        Value &annotated = annotatedFor[{v, int(d)}];
        if (!annotated && splitHere && !argument) {
          // Computed whole (a gradient summed over every rank's rows), then
          // split for the update: an all-reduce and a slice, which
          // accel-lower-collectives fuses into a reduce-scatter. Left to
          // propagation, the split would travel back into the gradient's
          // producer and reshuffle activations instead.
          Value whole = shard::ShardOp::create(b, loc, v, replicated);
          annotated = shard::ShardOp::create(b, loc, whole, sharding(d),
                                             /*annotate_for_users=*/true);
        } else if (!annotated) {
          annotated = shard::ShardOp::create(b, loc, v, sharding(d),
                                             /*annotate_for_users=*/true);
        }
        operand.set(annotated);
      }
      // An update's results are split as its operands are.
      if (zero == 0 || isa<GlobalNormOp>(op))
        return;
      b.setInsertionPointAfter(op);
      for (Value result : op->getResults()) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type || type.getRank() == 0)
          continue;
        auto annotated = shard::ShardOp::create(
            b, loc, result, sharding(splitDim(type)));
        result.replaceAllUsesExcept(annotated, annotated);
      }
    });

    // Results: an update of stored-split state stays split; the rest is
    // returned whole (updated parameters gathered under ZeRO-1/2).
    Operation *ret = entry.getTerminator();
    b.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type || type.getRank() == 0)
        continue;
      unsigned i = operand.getOperandNumber();
      StringAttr updates =
          func.getResultAttrOfType<StringAttr>(i, "accel.update");
      bool stored = false;
      int64_t d = -1;
      if (updates)
        for (BlockArgument arg : func.getArguments())
          for (StringRef role : {"param", "state"})
            if (func.getArgAttr(arg.getArgNumber(), ("accel." + role).str()) ==
                updates)
              stored = storedSplit(role, arg.getType());
      if (stored) {
        d = splitDim(type);
        func.setResultAttr(i, kSplitAttr, splitAttr(type, d));
      }
      operand.set(shard::ShardOp::create(b, loc, operand.get(), sharding(d),
                                         /*annotate_for_users=*/true));
    }

    // What the runtime needs to build its communicators and split batches.
    NamedAttrList metadata;
    if (auto given = func->getAttrOfType<DictionaryAttr>("accel.metadata"))
      metadata.append(given.getValue());
    metadata.set("grid_axes", b.getStringAttr("dp"));
    metadata.set("grid_shape", b.getStringAttr(std::to_string(dp)));
    if (zero)
      metadata.set("zero", b.getStringAttr(std::to_string(zero)));
    func->setAttr("accel.metadata", metadata.getDictionary(ctx));
    return success();
  }
};

} // namespace
