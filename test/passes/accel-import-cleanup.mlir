// RUN: accel-opt %s -accel-import-cleanup | FileCheck %s
// What the ONNX importer runs: shape arithmetic folds, the projections
// become linear ops, the GELU formula one gelu op.

// CHECK-LABEL: func @mlp_block
// CHECK-NEXT: %[[H:.*]] = accel.linear %{{.*}}, %{{.*}}, %{{.*}} {weight_in_out}
// CHECK-NEXT: %[[G:.*]] = accel.gelu %[[H]] :
// CHECK-NEXT: %[[R:.*]] = accel.reshape %[[G]] : (tensor<4x16xf32>) -> tensor<2x32xf32>
// CHECK-NEXT: return %[[R]]
func.func @mlp_block(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<2x32xf32> {
  %shape = accel.constant dense<[4, 16]> : tensor<2xi64>
  %half_shape = accel.constant dense<[2, 1]> : tensor<2xi64>
  %new = accel.div %shape, %half_shape : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %m = accel.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %h = accel.add %m, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %sqrt2 = accel.constant dense<1.41421354> : tensor<f32>
  %one = accel.constant dense<1.0> : tensor<f32>
  %half = accel.constant dense<0.5> : tensor<f32>
  %s = accel.div %h, %sqrt2 : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %e = accel.erf %s : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %t = accel.add %e, %one : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %p = accel.mul %h, %t : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %g = accel.mul %p, %half : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %r = accel.reshape %g : (tensor<4x16xf32>) -> tensor<2x32xf32>
  return %r : tensor<2x32xf32>
}
