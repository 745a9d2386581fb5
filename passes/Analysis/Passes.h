//===- Passes.h - Analyses that report on accel IR --------------*- C++ -*-===//
#ifndef ACCEL_PASSES_ANALYSIS_PASSES_H
#define ACCEL_PASSES_ANALYSIS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace accel {

#define GEN_PASS_DECL
#include "passes/Analysis/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Analysis/Passes.h.inc"

} // namespace accel

#endif // ACCEL_PASSES_ANALYSIS_PASSES_H
