//===- Passes.h - Registers every accel pass and pipeline -------*- C++ -*-===//
#ifndef ACCEL_PASSES_PASSES_H
#define ACCEL_PASSES_PASSES_H

#include "mlir/Pass/PassManager.h"

namespace accel {

/// Registers each pass group and the named pipelines with the global
/// registry (what accel-opt exposes as flags).
void registerAllPasses();

/// The pipeline from imported `accel` IR to IR the executable writer takes:
/// canonicalize, cse, plan buffers. Registered as `accel-lower-to-runtime`.
void buildLowerToRuntimePipeline(mlir::OpPassManager &pm);

} // namespace accel

#endif // ACCEL_PASSES_PASSES_H
