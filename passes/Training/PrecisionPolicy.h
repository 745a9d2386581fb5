//===- PrecisionPolicy.h - Which ops run in low precision -------*- C++ -*-===//
//
// The op policy of accel-mixed-precision, in one table (PrecisionPolicy.cpp,
// and docs/architecture.md "Mixed precision"): like torch.autocast's, a
// list of ops that run in bf16 or fp16, everything else in fp32.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H
#define ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H

#include "mlir/IR/Operation.h"

namespace accel {

/// Whether `op` runs in low precision: its floating-point operands are cast
/// to bf16 or fp16 and its results have that type (products summed in fp32 by
/// the kernels). Every other op runs in fp32.
bool runsInLowPrecision(mlir::Operation *op);

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_PRECISIONPOLICY_H
