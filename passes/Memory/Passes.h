//===- Passes.h - Memory planning passes ------------------------*- C++ -*-===//
#ifndef ACCEL_PASSES_MEMORY_PASSES_H
#define ACCEL_PASSES_MEMORY_PASSES_H

#include "dialects/Accel/AccelDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace accel {

#define GEN_PASS_DECL
#include "passes/Memory/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Memory/Passes.h.inc"

} // namespace accel

#endif // ACCEL_PASSES_MEMORY_PASSES_H
