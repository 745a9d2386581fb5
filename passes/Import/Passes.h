//===- Passes.h - Passes that give imported IR its accel form ---*- C++ -*-===//
#ifndef ACCEL_PASSES_IMPORT_PASSES_H
#define ACCEL_PASSES_IMPORT_PASSES_H

#include "dialects/Accel/AccelDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace accel {

#define GEN_PASS_DECL
#include "passes/Import/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Import/Passes.h.inc"

/// What the ONNX importer runs on a fresh import: canonicalize (folding
/// shape computations), form linear, gelu, rms_norm and attention ops,
/// canonicalize, cse.
void buildImportCleanupPipeline(mlir::OpPassManager &pm);

} // namespace accel

#endif // ACCEL_PASSES_IMPORT_PASSES_H
