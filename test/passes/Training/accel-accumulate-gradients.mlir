// RUN: accel-opt %s -split-input-file --accel-build-loss --accel-add-gradients --accel-accumulate-gradients="accumulate=2" | FileCheck %s --check-prefix=GLOBAL
// RUN: accel-opt %s -split-input-file --accel-build-loss --accel-add-gradients --accel-accumulate-gradients="accumulate=2 normalization=per-micro-batch" | FileCheck %s --check-prefix=MEAN
// RUN: accel-opt %s -split-input-file --accel-make-train-step="accumulate=2" | FileCheck %s --check-prefix=PIPELINE
// RUN: accel-opt %s -split-input-file --accel-build-loss="loss=mse" --accel-add-gradients --accel-accumulate-gradients="accumulate=2" | FileCheck %s --check-prefix=MSE
// Gradient accumulation on the gradient form of the step: the inputs take
// two micro-batches, each runs forward and backward in turn, gradients add.

// Global normalization: the labels' count over the whole step is computed
// once, and each micro-batch's cross-entropy (and its gradient) divides by
// it; the step's loss is the sum of the micro-batch parts. Micro-batch k is
// column k of the batch viewed as [b, 2, ...]. The weight's transpose does
// not depend on the batch and is computed once, before the micro-batches.
// Dropout in micro-batch k of step s draws the mask of step 2s + k, in the
// forward pass and in its gradient.
// GLOBAL-LABEL: func.func @train_step
// GLOBAL-SAME: %[[W:[^:]*]]: tensor<3x4xf32> {accel.param = "fc.weight"}
// GLOBAL-SAME: %[[STEP:[^:]*]]: tensor<i64> {accel.input = "step"}
// GLOBAL-SAME: %[[X:[^:]*]]: tensor<4x4xf32> {accel.input = "x"}
// GLOBAL-SAME: %[[Y:[^:]*]]: tensor<4xi64> {accel.input = "labels"}
// GLOBAL-SAME: %[[SEED:[^:]*]]: tensor<f32> {accel.input = "loss.grad"}
// GLOBAL-SAME: -> (tensor<f32> {accel.output = "loss"}, tensor<3x4xf32> {accel.grad = "fc.weight"})
// GLOBAL: %[[IGNORE:.*]] = accel.constant dense<-100> : tensor<i64>
// GLOBAL: %[[COUNTED:.*]] = accel.compare %[[Y]], %[[IGNORE]] {direction = #accel<compare_direction ne>}
// GLOBAL: %[[ONES:.*]] = accel.cast %[[COUNTED]]
// GLOBAL: %[[COUNT:.*]] = accel.reduce_sum %[[ONES]] {axes = array<i64: 0>} : (tensor<4xi64>) -> tensor<i64>
// GLOBAL: %[[WT:.*]] = accel.transpose %[[W]]
// GLOBAL: %[[TWO:.*]] = accel.constant dense<2> : tensor<i64>
// GLOBAL: %[[STEP0:.*]] = accel.mul %[[STEP]], %[[TWO]]
// GLOBAL: %[[XS0:.*]] = accel.reshape %[[X]] : (tensor<4x4xf32>) -> tensor<2x2x4xf32>
// GLOBAL: %[[X0:.*]] = accel.slice %[[XS0]] {limit = array<i64: 2, 1, 4>, start = array<i64: 0, 0, 0>, stride = array<i64: 1, 1, 1>}
// GLOBAL: %[[Y0:.*]] = accel.reshape %{{.*}} : (tensor<2x1xi64>) -> tensor<2xi64>
// GLOBAL: %[[H0:.*]] = accel.matmul %{{.*}}, %[[WT]]
// GLOBAL: accel.dropout %[[H0]], %[[STEP0]]
// GLOBAL: %[[L0:.*]] = accel.cross_entropy %{{.*}}, %[[Y0]], %[[COUNT]]
// GLOBAL: accel.cross_entropy_grad %{{.*}}, %[[Y0]], %[[SEED]], %[[COUNT]]
// GLOBAL: accel.dropout %{{.*}}, %[[STEP0]]
// GLOBAL: %[[XS1:.*]] = accel.reshape %[[X]] : (tensor<4x4xf32>) -> tensor<2x2x4xf32>
// GLOBAL-NOT: accel.transpose %[[W]]
// GLOBAL: accel.slice %[[XS1]] {limit = array<i64: 2, 2, 4>, start = array<i64: 0, 1, 0>, stride = array<i64: 1, 1, 1>}
// GLOBAL: %[[STEP1:.*]] = accel.add %[[STEP0]], %{{.*}} : (tensor<i64>, tensor<i64>) -> tensor<i64>
// GLOBAL: accel.dropout %{{.*}}, %[[STEP1]]
// GLOBAL: %[[L1:.*]] = accel.cross_entropy %{{.*}}, %{{.*}}, %[[COUNT]]
// GLOBAL: accel.cross_entropy_grad
// GLOBAL: accel.dropout %{{.*}}, %[[STEP1]]
// GLOBAL: %[[LOSS:.*]] = accel.add %[[L0]], %[[L1]]
// GLOBAL: %[[G:.*]] = accel.add %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
// GLOBAL: return %[[LOSS]], %[[G]]

// Per-micro-batch normalization: each micro-batch takes its own mean, with
// the cotangent halved; the step's loss is the mean of the two.
// MEAN-LABEL: func.func @train_step
// MEAN-SAME: %[[SEED:[^:]*]]: tensor<f32> {accel.input = "loss.grad"}
// MEAN-NOT: accel.reduce_sum
// MEAN: %[[HALF:.*]] = accel.constant dense<5.000000e-01> : tensor<f32>
// MEAN: %[[MICRO_SEED:.*]] = accel.mul %[[SEED]], %[[HALF]]
// MEAN: %[[L0:.*]] = accel.cross_entropy %{{[^,]*}}, %{{[^,]*}} :
// MEAN: accel.cross_entropy_grad %{{.*}}, %{{.*}}, %[[MICRO_SEED]] :
// MEAN: %[[L1:.*]] = accel.cross_entropy %{{[^,]*}}, %{{[^,]*}} :
// MEAN: %[[SUM:.*]] = accel.add %[[L0]], %[[L1]]
// MEAN: %[[LOSS:.*]] = accel.mul %[[SUM]], %{{.*}}
// MEAN: return %[[LOSS]]

// Through the pipeline: the step takes the doubled batch, the optimizer the
// summed gradient once; eval_step keeps the micro-batch.
// PIPELINE-LABEL: func.func @train_step
// PIPELINE-SAME: tensor<4x4xf32> {accel.input = "x"}
// PIPELINE-COUNT-2: accel.cross_entropy_grad
// PIPELINE: %[[G:.*]] = accel.add %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<3x4xf32>)
// PIPELINE: accel.global_norm %[[G]]
// PIPELINE-COUNT-1: accel.adamw
// PIPELINE-NOT: accel.adamw
// PIPELINE-LABEL: func.func @eval_step
// PIPELINE-SAME: tensor<2x4xf32> {accel.input = "x"}
func.func @mlp(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> (tensor<2x3xf32> {accel.output = "logits"}) {
  %wt = accel.transpose %w {permutation = array<i64: 1, 0>} : (tensor<3x4xf32>) -> tensor<4x3xf32>
  %0 = accel.matmul %x, %wt : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  %1 = accel.dropout %0 {ratio = 0.1 : f32, seed = 7 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// A loss without a count (mse) averages its micro-batches either way.
// MSE-LABEL: func.func @train_step
// MSE-SAME: %[[SEED:[^:]*]]: tensor<f32> {accel.input = "loss.grad"}
// MSE-NOT: accel.compare
// MSE: %[[MICRO_SEED:.*]] = accel.mul %[[SEED]], %{{.*}}
// MSE: accel.reduce_mean
// MSE: accel.reduce_mean
// MSE: %[[SUM:.*]] = accel.add %{{.*}}, %{{.*}} : (tensor<f32>, tensor<f32>)
// MSE: accel.mul %[[SUM]], %{{.*}}
func.func @regression(%w: tensor<4xf32> {accel.param = "w"},
                      %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.mul %x, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
