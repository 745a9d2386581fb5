//===- MlirFuzzer.cpp - libFuzzer entry for MLIR text into accel tools ----===//
//
// What accel-opt, accel-translate and accel-run do first with a .mlir file:
// the nesting check, then parsing with every accel dialect, then the
// verifier. Any bytes either become a verified module or are refused with a
// diagnostic; never a crash.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/Driver/NestingLimit.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (!accel::checkMlirNesting(text, "fuzz").empty())
    return 0;
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    accel::registerAccelDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry);
  context.loadAllAvailableDialects();
  // Diagnostics are the expected outcome; keep them off the fuzzer's output.
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  // As the tools read a file: a null-terminated copy in a SourceMgr (the
  // lexer relies on the terminator, which a raw fuzz input lacks).
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz"),
                             llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sources, &context);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
