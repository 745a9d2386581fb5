//===- PrecisionPolicy.h - Which ops run in low precision -------*- C++ -*-===//
//
// The op policy of accel-mixed-precision, in one table (PrecisionPolicy.cpp,
// and docs/architecture.md "Mixed precision"): like torch.autocast's, a
// list of ops that run in bf16 or fp16, everything else in fp32.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H
#define ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H

#include "passes/Training/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Operation.h"

namespace accel {

/// Whether `op` runs in low precision: its floating-point operands are cast
/// to bf16 or fp16 and its results have that type (products summed in fp32 by
/// the kernels). Every other op runs in fp32.
bool runsInLowPrecision(mlir::Operation *op);

/// Whether the policy casts `operand` to the low type: the floating-point
/// operands of a policy op, except attention's mask (added in fp32).
bool takesLowPrecision(mlir::OpOperand &operand);

/// The element type of `dtype` (bf16 or fp16; not None).
mlir::Type lowPrecisionType(mlir::MLIRContext *context, LowPrecisionType dtype);

/// Runs every op of the policy in `f` on `low` (bf16 or fp16) operands,
/// with casts around it: one cast per value (a weight read by several ops
/// is cast once), a low-precision result read by another policy op passed
/// on as it is (also through reshapes, transposes, slices, splits and
/// concats, which then move low-precision values), every other op on fp32
/// values.
mlir::LogicalResult applyPrecisionPolicy(mlir::func::FuncOp f, mlir::Type low);

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H
