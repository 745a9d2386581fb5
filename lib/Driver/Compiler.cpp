//===- Compiler.cpp - The compile steps the tools share ------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/Driver/NestingLimit.h"
#include "accel/Evaluation/ConstantEvaluator.h"
#include "accel/Target/ExecutableWriter.h"
#include "dialects/Accel/AccelDialect.h"
#include "dialects/Accel/AccelSharding.h"
#include "passes/Passes.h"
#include "passes/Training/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

void accel::registerAccelDialects(DialectRegistry &registry) {
  registry.insert<AccelDialect, func::FuncDialect, shard::ShardDialect>();
  registerShardingInterfaces(registry);
  registerConstantEvaluation(registry);
}

OwningOpRef<ModuleOp> accel::parseMlirFile(const std::string &path,
                                           MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buffer) {
    llvm::errs() << path << ": cannot read: " << buffer.getError().message()
                 << "\n";
    return nullptr;
  }
  std::string tooDeep = checkMlirNesting((*buffer)->getBuffer(), path);
  if (!tooDeep.empty()) {
    llvm::errs() << tooDeep << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

LogicalResult accel::storeWeights(ModuleOp module, const std::string &dtype) {
  if (dtype == "fp32")
    return success();
  StoreWeightsPassOptions options;
  options.dtype =
      dtype == "fp16" ? LowPrecisionType::FP16 : LowPrecisionType::BF16;
  PassManager pm(module.getContext());
  pm.addPass(createStoreWeightsPass(options));
  return pm.run(module);
}

LogicalResult accel::compileToExecutable(ModuleOp module,
                                         std::vector<uint8_t> &bytes) {
  bool planned = true;
  module.walk([&](func::FuncOp f) {
    planned &= f.isExternal() || f->hasAttr(kArenaSizeAttr);
  });
  if (!planned) {
    PassManager pm(module.getContext());
    buildLowerToRuntimePipeline(pm);
    if (failed(pm.run(module)))
      return failure();
  }
  return writeExecutable(module, bytes);
}
