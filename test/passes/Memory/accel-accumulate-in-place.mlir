// RUN: accel-opt %s --split-input-file --accel-accumulate-in-place | FileCheck %s
// A tied embedding's gradient: the head's weight gradient plus the
// embedding's scatter_add becomes one scatter_add into the head's.

// CHECK-LABEL: func.func @tied
// CHECK-SAME: %[[U:[^:]*]]: tensor<2x4x8xf32>
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<2x4xi64>
// CHECK-SAME: %[[DW:[^:]*]]: tensor<16x8xf32>
// CHECK-NOT: accel.add
// CHECK: %[[G:.*]] = accel.scatter_add %[[U]], %[[IDS]], %[[DW]] {axis = 0 : i64, skip_index = 3 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>, tensor<16x8xf32>) -> tensor<16x8xf32>
// CHECK: return %[[G]]
func.func @tied(%u: tensor<2x4x8xf32>, %ids: tensor<2x4xi64>, %dw: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %s = accel.scatter_add %u, %ids {axis = 0 : i64, skip_index = 3 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>) -> tensor<16x8xf32>
  %g = accel.add %s, %dw : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  return %g : tensor<16x8xf32>
}

// -----

// A scatter read elsewhere too, or a broadcasting add, stays as it is.
// CHECK-LABEL: func.func @kept
// CHECK: %[[S:.*]] = accel.scatter_add %{{.*}}, %{{.*}} {axis = 0 : i64}
// CHECK: accel.add %{{.*}}, %[[S]]
// CHECK: %[[T:.*]] = accel.scatter_add %{{.*}}, %{{.*}} {axis = 0 : i64}
// CHECK: accel.add %[[T]], %{{.*}} : (tensor<16x8xf32>, tensor<8xf32>)
func.func @kept(%u: tensor<2x4x8xf32>, %ids: tensor<2x4xi64>, %dw: tensor<16x8xf32>, %b: tensor<8xf32>) -> (tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) {
  %s = accel.scatter_add %u, %ids {axis = 0 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>) -> tensor<16x8xf32>
  %g = accel.add %dw, %s : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
  %t = accel.scatter_add %u, %ids {axis = 0 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>) -> tensor<16x8xf32>
  %h = accel.add %t, %b : (tensor<16x8xf32>, tensor<8xf32>) -> tensor<16x8xf32>
  return %g, %s, %h : tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>
}
