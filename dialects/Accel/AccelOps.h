//===- AccelOps.h - Ops of the accel dialect --------------------*- C++ -*-===//
#ifndef ACCEL_DIALECTS_ACCEL_ACCELOPS_H
#define ACCEL_DIALECTS_ACCEL_ACCELOPS_H

#include "dialects/Accel/AccelDialect.h"
#include "dialects/Accel/AccelInterfaces.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Accel/AccelEnums.h.inc"
#define GET_ATTRDEF_CLASSES
#include "dialects/Accel/AccelAttrs.h.inc"
#define GET_OP_CLASSES
#include "dialects/Accel/AccelOps.h.inc"

namespace accel {
/// The largest constant accel materialises (accel.constant is stored whole
/// in the executable, a FlatBuffer of less than 2 GiB, and loaded whole): a
/// folded Range or ConstantOfShape past it is an error naming the op and its
/// size, not an allocation that takes the machine down.
inline constexpr int64_t kMaxConstantBytes = int64_t(1) << 30;

/// Bytes of a tensor of `shape` and `elementType` (one byte per i1), or
/// nullopt when that overflows int64.
std::optional<int64_t> tensorBytes(llvm::ArrayRef<int64_t> shape,
                                   mlir::Type elementType);

/// True when `mask` (i1: true keeps; float: 0 keeps, <= -1e4 drops) is
/// exactly the causal pattern for Sq queries over Sk keys: key j visible
/// from query i iff j <= i + (Sk - Sq), in every [Sq, Sk] slice.
bool isCausalMask(mlir::DenseElementsAttr mask, int64_t sq, int64_t sk);

/// The value of a floating-point constant with one distinct value (a scalar
/// or a splat), as a double; nullopt for anything else.
std::optional<double> matchScalarConstant(mlir::Value v);

/// Builds the number of `labels` other than `ignoreIndex` (the positions a
/// cross-entropy counts), as an int64 scalar.
mlir::Value buildCountedLabels(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value labels, int64_t ignoreIndex);
} // namespace accel

#endif // ACCEL_DIALECTS_ACCEL_ACCELOPS_H
