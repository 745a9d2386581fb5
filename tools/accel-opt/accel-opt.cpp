//===- accel-opt.cpp - The accel pass driver ------------------------------===//
//
// mlir-opt with the accel dialect, its passes and pipelines: what lit tests
// run and what users call to apply passes one by one. The input is read
// once, checked for nesting too deep for the parser, then handed to
// MlirOptMain.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/Driver/NestingLimit.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::registerTransformsPasses();
  mlir::shard::registerShardPasses();
  accel::registerAllPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "accel optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, input, output, registry));

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = mlir::openInputFile(input, &error);
  if (!file) {
    llvm::errs() << error << "\n";
    return 1;
  }
  std::string tooDeep = accel::checkMlirNesting(file->getBuffer(), input);
  if (!tooDeep.empty()) {
    llvm::errs() << tooDeep << "\n";
    return 1;
  }
  std::unique_ptr<llvm::ToolOutputFile> out =
      mlir::openOutputFile(output, &error);
  if (!out) {
    llvm::errs() << error << "\n";
    return 1;
  }
  if (mlir::failed(
          mlir::MlirOptMain(out->os(), std::move(file), registry, config)))
    return 1;
  out->keep();
  return 0;
}
