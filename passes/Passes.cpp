//===- Passes.cpp - Registers every accel pass and pipeline --------------===//
#include "passes/Passes.h"
#include "passes/Analysis/Passes.h"
#include "passes/Distributed/Passes.h"
#include "passes/Import/Passes.h"
#include "passes/Memory/Passes.h"
#include "passes/Training/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void accel::buildLowerToRuntimePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createAccumulateInPlacePass());
  pm.addNestedPass<func::FuncOp>(createPlanBuffersPass());
}

void accel::registerAllPasses() {
  registerAnalysisPasses();
  registerDistributedPasses();
  registerImportPasses();
  registerMemoryPasses();
  registerTrainingPasses();
  registerMakeTrainStepPipeline();
  PassPipelineRegistration<>(
      "accel-import-cleanup",
      "What the ONNX importer runs: fold, form linear and attention ops",
      buildImportCleanupPipeline);
  PassPipelineRegistration<>(
      "accel-lower-to-runtime",
      "Canonicalize and plan buffers: the IR the executable writer takes",
      buildLowerToRuntimePipeline);
}
