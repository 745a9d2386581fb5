// RUN: accel-opt %s -split-input-file -accel-form-rms-norm -canonicalize | FileCheck %s
// RMSNorm formulas become accel.rms_norm, taking in the weight multiply.

// Llama's RMSNorm as the dynamo exporter writes it.
// CHECK-LABEL: func @llama_style
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[Y:.*]] = accel.rms_norm %[[X]], %[[W]] {axis = 2 : i64, epsilon = 9.99999997E-7 : f32}
// CHECK-NEXT: return %[[Y]]
func.func @llama_style(%x: tensor<2x8x64xf32>, %w: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %two = accel.constant dense<2.0> : tensor<f32>
  %eps = accel.constant dense<1.0e-6> : tensor<f32>
  %sq = accel.pow %x, %two : (tensor<2x8x64xf32>, tensor<f32>) -> tensor<2x8x64xf32>
  %m = accel.reduce_mean %sq {axes = array<i64: 2>, keep_dims} : (tensor<2x8x64xf32>) -> tensor<2x8x1xf32>
  %v = accel.add %m, %eps : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
  %s = accel.sqrt %v : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %r = accel.reciprocal %s : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
  %n = accel.mul %x, %r : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
  %y = accel.mul %w, %n : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// x / sqrt(mean(x * x) + eps) over two trailing dims, no weight.
// CHECK-LABEL: func @div_form
// CHECK-NEXT: accel.rms_norm %{{.*}} {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
func.func @div_form(%x: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  %eps = accel.constant dense<1.0e-5> : tensor<f32>
  %sq = accel.mul %x, %x : (tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %m = accel.reduce_mean %sq {axes = array<i64: 1, 2>, keep_dims} : (tensor<4x8x16xf32>) -> tensor<4x1x1xf32>
  %v = accel.add %eps, %m : (tensor<f32>, tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %s = accel.sqrt %v : (tensor<4x1x1xf32>) -> tensor<4x1x1xf32>
  %y = accel.div %x, %s : (tensor<4x8x16xf32>, tensor<4x1x1xf32>) -> tensor<4x8x16xf32>
  return %y : tensor<4x8x16xf32>
}

// -----

// A mean over a leading axis is not RMSNorm.
// CHECK-LABEL: func @leading_axis
// CHECK-NOT: accel.rms_norm
func.func @leading_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %eps = accel.constant dense<1.0e-5> : tensor<f32>
  %sq = accel.mul %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = accel.reduce_mean %sq {axes = array<i64: 0>, keep_dims} : (tensor<4x8xf32>) -> tensor<1x8xf32>
  %v = accel.add %m, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %r = accel.rsqrt %v : (tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = accel.mul %x, %r : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
