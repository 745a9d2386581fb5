// RUN: accel-opt %s -accel-make-train-step | FileCheck %s
// RUN: accel-opt %s -accel-make-train-step="fuse-lm-head=false" | FileCheck %s --check-prefix=UNFUSED
// RUN: accel-opt %s -accel-make-train-step="loss-scale=dynamic" | FileCheck %s --check-prefix=SCALED
// A bias-free linear head feeding cross-entropy becomes one blockwise
// accel.linear_cross_entropy in the training step: the logits never exist
// whole, and the head's gradients come with the loss, for the loss's
// cotangent (1: no operand; under loss scaling the scale, which the kernel
// applies to the logit gradients before anything is rounded). The
// evaluation step keeps the plain head and loss.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[^:]*]]: tensor<16x8xf32> {accel.param = "lm_head.weight"}
// CHECK-SAME: %[[Y:[^:]*]]: tensor<2x4xi64> {accel.input = "labels"}
// CHECK-NOT: accel.linear
// CHECK: %[[LOSS:.*]], %[[DH:.*]], %[[DW:.*]] = accel.linear_cross_entropy %{{.*}}, %[[W]], %[[Y]] : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<2x4xi64>) -> (tensor<f32>, tensor<2x4x8xf32>, tensor<16x8xf32>)
// CHECK: accel.scatter_add %[[DH]]
// CHECK: accel.global_norm
// CHECK: accel.adamw %[[W]], %[[DW]]

// SCALED-LABEL: func.func @train_step
// SCALED-SAME: %[[SCALE:[^:]*]]: tensor<f32> {accel.initial = 6.553600e+04 : f64, accel.state = "scaler.scale"}
// SCALED: %[[LOSS:.*]], %[[DH:.*]], %[[DW:.*]] = accel.linear_cross_entropy {{.*}} cotangent %[[SCALE]]
// SCALED: accel.unscale_gradients %{{.*}}, %{{.*}}, %[[DW]]
// CHECK-LABEL: func.func @eval_step
// CHECK: accel.linear
// CHECK: accel.cross_entropy

// UNFUSED-LABEL: func.func @train_step
// UNFUSED-NOT: accel.linear_cross_entropy
// UNFUSED: accel.linear
// UNFUSED: accel.cross_entropy
// UNFUSED: accel.cross_entropy_grad
func.func @lm(%emb: tensor<16x8xf32> {accel.param = "emb"}, %w: tensor<16x8xf32> {accel.param = "lm_head.weight"},
              %ids: tensor<2x4xi64> {accel.input = "input_ids"}) -> tensor<2x4x16xf32> {
  %h = accel.gather %emb, %ids {axis = 0 : i64} : (tensor<16x8xf32>, tensor<2x4xi64>) -> tensor<2x4x8xf32>
  %l = accel.linear %h, %w : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %l : tensor<2x4x16xf32>
}
