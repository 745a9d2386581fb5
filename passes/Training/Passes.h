//===- Passes.h - Passes that derive training computations ------*- C++ -*-===//
#ifndef ACCEL_PASSES_TRAINING_PASSES_H
#define ACCEL_PASSES_TRAINING_PASSES_H

#include "dialects/Accel/AccelDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace accel {

#define GEN_PASS_DECL
#include "passes/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Training/Passes.h.inc"

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_PASSES_H
