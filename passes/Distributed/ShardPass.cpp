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
    perFunction.addPass(createBucketAllReducePass({bucketMb}));
    if (failed(runPipeline(pm, module)))
      return signalPassFailure();
  }

  /// Batch inputs split along dim 0 over dp, everything else replicated
  /// (for their users); tensor results replicated (as they are returned).
  LogicalResult annotate(func::FuncOp func) {
    MLIRContext *ctx = &getContext();
    Block &entry = func.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    Location loc = func.getLoc();
    auto gridRef = FlatSymbolRefAttr::get(ctx, kGrid);
    // Dim 0 split over axis 0, or nothing split (written [[]] as upstream
    // does: its resharding crashes on an empty list).
    auto gridAxes = [&](bool split) {
      SmallVector<shard::GridAxesAttr> axes = {shard::GridAxesAttr::get(
          ctx, split ? ArrayRef<shard::GridAxis>{0}
                     : ArrayRef<shard::GridAxis>{})};
      return shard::ShardingOp::create(b, loc, gridRef, axes).getResult();
    };
    Value split = gridAxes(true), replicated = gridAxes(false);

    for (BlockArgument arg : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || type.getRank() == 0)
        continue;
      auto input = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                     "accel.input");
      if (input && type.getDimSize(0) % dp)
        return func.emitError("accel-shard: input '")
               << input.getValue() << "' of @" << func.getSymName() << " "
               << type << ": its batch dim 0 of size " << type.getDimSize(0)
               << " does not divide over the dp axis of size " << dp;
      auto annotated = shard::ShardOp::create(
          b, loc, arg, input ? split : replicated, /*annotate_for_users=*/true);
      if (input) {
        // The split, per dim, for reports (the type becomes the local one).
        SmallVector<StringRef> axes(type.getRank(), "");
        axes[0] = "dp";
        func.setArgAttr(arg.getArgNumber(), "accel.split",
                        b.getStrArrayAttr(axes));
      }
      arg.replaceAllUsesExcept(annotated, annotated);
    }

    // The optimizer runs replicated under data parallelism: its gradients
    // are whole on every rank. Said explicitly, propagation need not
    // search the shardings of global_norm's many operands (it enumerates
    // their combinations: 2^n).
    func.walk([&](Operation *op) {
      if (!isa<GlobalNormOp, AdamWOp, SgdOp>(op))
        return;
      b.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands()) {
        auto type = dyn_cast<RankedTensorType>(operand.get().getType());
        if (type && type.getRank() > 0)
          operand.set(shard::ShardOp::create(b, loc, operand.get(), replicated,
                                             /*annotate_for_users=*/true));
      }
    });

    Operation *ret = entry.getTerminator();
    b.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(operand.get().getType());
      if (!type || type.getRank() == 0)
        continue;
      operand.set(shard::ShardOp::create(b, loc, operand.get(), replicated));
    }

    // What the runtime needs to build its communicators and split batches.
    NamedAttrList metadata;
    if (auto given = func->getAttrOfType<DictionaryAttr>("accel.metadata"))
      metadata.append(given.getValue());
    metadata.set("grid_axes", b.getStringAttr("dp"));
    metadata.set("grid_shape", b.getStringAttr(std::to_string(dp)));
    func->setAttr("accel.metadata", metadata.getDictionary(ctx));
    return success();
  }
};

} // namespace
