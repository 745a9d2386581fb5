//===- ConstantEvaluator.h - Folding accel ops with runtime kernels -*- C++ -*-===//
//
// Folds any accel op whose operands are all constants by running the very
// kernel the runtime would run, so an op's semantics are written once. The
// importer relies on this to fold exporters' shape sub-graphs away.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_EVALUATION_CONSTANTEVALUATOR_H
#define ACCEL_EVALUATION_CONSTANTEVALUATOR_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Operation.h"

namespace accel {

/// Results larger than this many elements are not folded (they would bloat
/// the IR; the runtime computes them instead).
inline constexpr int64_t kMaxFoldedElements = 1 << 16;

/// Evaluates `op` on `operands` (constant attributes, or null when not
/// constant). Fails when an operand is not constant, the op is not an accel
/// op, a result has more than `maxElements` elements, or the kernel reports
/// an error.
mlir::LogicalResult
evaluateConstantOp(mlir::Operation *op, llvm::ArrayRef<mlir::Attribute> operands,
                   llvm::SmallVectorImpl<mlir::OpFoldResult> &results,
                   int64_t maxElements = kMaxFoldedElements);

/// The value of `v` if it is computed from constants alone, evaluating the
/// ops on the way without adding anything to the IR (for analyses that
/// need a large constant's contents but should not materialize it).
std::optional<mlir::DenseElementsAttr>
evaluateConstantValue(mlir::Value v, int64_t maxElements);

/// Installs the evaluator as the accel dialect's fallback folder.
void registerConstantEvaluation(mlir::DialectRegistry &registry);

} // namespace accel

#endif // ACCEL_EVALUATION_CONSTANTEVALUATOR_H
