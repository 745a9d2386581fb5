//===- StepSignature.h - The training step's arguments by role --*- C++ -*-===//
//
// The stages of the training step hand @train_step to each other as a plain
// function; these helpers find its arguments and results by the attributes
// that name their roles, never by position.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_TRAINING_STEPSIGNATURE_H
#define ACCEL_PASSES_TRAINING_STEPSIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace accel {

/// Names of the step's roles (values of accel.input / accel.output).
inline constexpr llvm::StringLiteral kStepInput = "step";
inline constexpr llvm::StringLiteral kLabelsInput = "labels";
inline constexpr llvm::StringLiteral kLossOutput = "loss";
/// The loss's cotangent, an argument of the gradient form.
inline constexpr llvm::StringLiteral kLossGradInput = "loss.grad";
/// The function the stages build and rewrite.
inline constexpr llvm::StringLiteral kTrainStepName = "train_step";

/// The index of `f`'s argument whose `attr` is the string `value`.
std::optional<unsigned> findArgument(mlir::func::FuncOp f, llvm::StringRef attr,
                                     llvm::StringRef value);
/// The index of `f`'s result whose `attr` is the string `value`.
std::optional<unsigned> findResult(mlir::func::FuncOp f, llvm::StringRef attr,
                                   llvm::StringRef value);

/// Whether argument `i` of `f` is a parameter the step trains: a
/// floating-point accel.param that is not accel.frozen.
bool isTrainedParameter(mlir::func::FuncOp f, unsigned i);

/// @train_step of `module`, after `stage` (a pass flag, for the error) has
/// checked that it is there.
mlir::func::FuncOp findTrainStep(mlir::ModuleOp module, llvm::StringRef stage);

/// @train_step in the gradient form (accel-add-gradients): its loss
/// cotangent argument, its loss result and one gradient result per trained
/// parameter, in argument order.
struct GradientForm {
  mlir::func::FuncOp func;
  unsigned lossGrad;
  unsigned loss;
  llvm::SmallVector<unsigned> params;        // argument indices
  llvm::SmallVector<unsigned> grads;         // result indices, as params
  llvm::SmallVector<std::string> paramNames; // as params
};
/// Reads the gradient form of @train_step, or fails with an error naming
/// `stage` and what is missing.
mlir::FailureOr<GradientForm> readGradientForm(mlir::ModuleOp module,
                                               llvm::StringRef stage);

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_STEPSIGNATURE_H
