//===- ImportCleanupPipeline.cpp - What the importer runs after import ---===//
#include "passes/Import/Passes.h"

#include "mlir/Transforms/Passes.h"

void accel::buildImportCleanupPipeline(mlir::OpPassManager &pm) {
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFormLinearPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFormGeluPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFormRmsNormPass());
  pm.addNestedPass<mlir::func::FuncOp>(createFormAttentionPass());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}
