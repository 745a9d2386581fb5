//===- accel-opt.cpp - The accel pass driver ------------------------------===//
//
// mlir-opt with the accel dialect, its passes and pipelines: what lit tests
// run and what users call to apply passes one by one.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/Driver/NestingLimit.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/MemoryBuffer.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::registerTransformsPasses();
  mlir::shard::registerShardPasses();
  accel::registerAllPasses();
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "accel optimizer driver\n", registry);
  // Text nested too deep for the parser's stack is refused before parsing.
  if (auto file = llvm::MemoryBuffer::getFileOrSTDIN(input)) {
    std::string tooDeep = accel::checkMlirNesting((*file)->getBuffer(), input);
    if (!tooDeep.empty()) {
      llvm::errs() << tooDeep << "\n";
      return 1;
    }
  }
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, input, output, registry));
}
