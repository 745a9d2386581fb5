//===- accel-opt.cpp - The accel pass driver ------------------------------===//
//
// mlir-opt with the accel dialect, its passes and pipelines: what lit tests
// run and what users call to apply passes one by one.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::registerTransformsPasses();
  mlir::shard::registerShardPasses();
  accel::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "accel optimizer driver\n", registry));
}
