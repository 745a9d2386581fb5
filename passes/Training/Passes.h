//===- Passes.h - Passes that derive training computations ------*- C++ -*-===//
#ifndef ACCEL_PASSES_TRAINING_PASSES_H
#define ACCEL_PASSES_TRAINING_PASSES_H

#include "dialects/Accel/AccelDialect.h"
#include "dialects/Accel/AccelOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace accel {

/// The losses accel-build-loss takes of a model's output.
enum class LossKind { CrossEntropy, MeanSquaredError };
/// The optimizers accel-add-optimizer builds.
enum class OptimizerKind { AdamW, Sgd };
/// The low-precision type of accel-mixed-precision.
enum class LowPrecisionType { None, BF16, FP16 };
/// What the mean of an accumulated cross-entropy is over.
enum class LossNormalization { Global, PerMicroBatch };
/// Whether accel-add-optimizer scales the loss (GradScaler's dynamic loss
/// scaling): `Auto` does when the step computes in fp16.
enum class LossScaling { Auto, Dynamic, None };
/// What accel-recompute computes again in the backward pass.
enum class RecomputeMode { None, Full, Selective, Budget };

#define GEN_PASS_DECL
#include "passes/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Training/Passes.h.inc"

/// Registers accel-make-train-step: the stages of the training step in
/// order, each taking its own options from the pipeline's option string.
void registerMakeTrainStepPipeline();

} // namespace accel

#endif // ACCEL_PASSES_TRAINING_PASSES_H
