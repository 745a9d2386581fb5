//===- ReverseSweep.h - Reverse-mode autodiff over a block ------*- C++ -*-===//
//
// The autodiff core shared by accel-differentiate and the training-step
// pass: walks ops backwards, asking each op's DifferentiableOpInterface for
// its operands' cotangents and summing cotangents that reach a value along
// several uses.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_TRAINING_REVERSESWEEP_H
#define ACCEL_PASSES_TRAINING_REVERSESWEEP_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"

namespace accel {

/// True for ranked tensors of a floating-point element type (the values
/// that have cotangents).
bool isFloatTensor(mlir::Type type);

/// Builds, at `b`'s insertion point, the cotangents of `wrt` given `seed` as
/// the cotangent of `result`, through `ops` (in program order, `result`
/// computed among them). A value of `wrt` that `result` does not depend on
/// gets zeros. Fails, with an error on `ops`' first op naming the op, when an
/// op on the path has no gradient rule or its rule cannot handle it.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildReverseSweep(mlir::OpBuilder &b, llvm::ArrayRef<mlir::Operation *> ops,
                  mlir::Value result, mlir::Value seed, mlir::ValueRange wrt,
                  mlir::Location loc);

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_REVERSESWEEP_H
