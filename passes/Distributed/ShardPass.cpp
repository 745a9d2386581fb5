//===- ShardPass.cpp - Split a module's functions over a grid of ranks ---===//
//
// States a layout as upstream `shard` annotations on every function's
// arguments and results (FunctionLayout.cpp), lets upstream's propagation
// and partition split the function through accel's ShardingInterface
// models, and lowers the collectives they leave. What is accel's here is
// only the layout (which values split along which axis) and the checks;
// the splitting is MLIR's.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Distributed/FunctionLayout.h"
#include "passes/Distributed/Passes.h"

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

struct ShardPass : accel::impl::ShardPassBase<ShardPass> {
  using ShardPassBase::ShardPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (dp < 1 || tp < 1) {
      module.emitError("accel-shard: dp and tp must be at least 1, not ")
          << static_cast<int64_t>(dp) << " and " << static_cast<int64_t>(tp);
      return signalPassFailure();
    }
    if (zero < 0 || zero > 3) {
      module.emitError("accel-shard: zero must be 0, 1, 2 or 3, not ")
          << static_cast<int64_t>(zero);
      return signalPassFailure();
    }
    if (sp && tp == 1) {
      module.emitError("accel-shard: sp=true splits the sequence over the "
                       "tp axis; it needs tp of at least 2");
      return signalPassFailure();
    }
    SmallVector<int64_t> shape;
    SmallVector<StringRef> names;
    for (auto [name, size] :
         {std::pair<StringRef, int64_t>{"dp", dp}, {"tp", tp}})
      if (size > 1) {
        names.push_back(name);
        shape.push_back(size);
      }
    if (shape.empty())
      return;
    if (SymbolTable::lookupSymbolIn(module, kGridSymbol)) {
      module.emitError("accel-shard: the module is already sharded (it has "
                       "a symbol @grid)");
      return signalPassFailure();
    }
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto grid = shard::GridOp::create(b, module.getLoc(), kGridSymbol, shape);
    grid->setAttr("accel.axes", b.getStrArrayAttr(names));

    // Drop what nothing reads first (a training step's gradient of its
    // input, say): a value without users has no sharding to partition by.
    OpPassManager cleanup(ModuleOp::getOperationName());
    cleanup.nest<func::FuncOp>().addPass(createCanonicalizerPass());
    if (failed(runPipeline(cleanup, module)))
      return signalPassFailure();
    LayoutOptions layout{dp, tp, zero, sp};
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && failed(annotateLayout(func, layout)))
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
};

} // namespace
