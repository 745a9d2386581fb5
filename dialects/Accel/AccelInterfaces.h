//===- AccelInterfaces.h - Cost and gradient op interfaces ------*- C++ -*-===//
#ifndef ACCEL_DIALECTS_ACCEL_ACCELINTERFACES_H
#define ACCEL_DIALECTS_ACCEL_ACCELINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace accel::detail {
/// Sum of the byte sizes of all statically shaped operands and results.
int64_t defaultBytesAccessed(mlir::Operation *op);
} // namespace accel::detail

#include "dialects/Accel/AccelInterfaces.h.inc"

#endif // ACCEL_DIALECTS_ACCEL_ACCELINTERFACES_H
