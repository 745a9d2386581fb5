//===- Passes.h - Passes that distribute a step over ranks ------*- C++ -*-===//
#ifndef ACCEL_PASSES_DISTRIBUTED_PASSES_H
#define ACCEL_PASSES_DISTRIBUTED_PASSES_H

#include "dialects/Accel/AccelDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace accel {

#define GEN_PASS_DECL
#include "passes/Distributed/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Distributed/Passes.h.inc"

} // namespace accel

#endif // ACCEL_PASSES_DISTRIBUTED_PASSES_H
