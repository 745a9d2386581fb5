// RUN: accel-opt %s -accel-make-train-step="loss=mse optimizer=sgd" | FileCheck %s
// Dropout in a training step takes the step number, so every step draws a
// new mask; its gradient uses the same seed and step (the same mask).
// The step is fed by accel-run's loop: 0, 1, 2, ...
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[STEP:[^:]*]]: tensor<i64> {accel.input = "step"}
// CHECK: accel.dropout %{{.*}}, %[[STEP]] {ratio = 1.000000e-01 : f32, seed = 7 : i64}
// CHECK: accel.dropout %{{.*}}, %[[STEP]] {ratio = 1.000000e-01 : f32, seed = 7 : i64}
// Evaluation is in eval mode: no dropout.
// CHECK-LABEL: func.func @eval_step
// CHECK-NOT: accel.dropout
// CHECK: return
func.func @f(%w: tensor<4xf32> {accel.param = "w"}, %x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.mul %w, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = accel.dropout %0 {ratio = 0.1 : f32, seed = 7 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
