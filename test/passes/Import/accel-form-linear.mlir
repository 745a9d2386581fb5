// RUN: accel-opt %s -split-input-file -accel-form-linear | FileCheck %s
// matmul by a 2-D weight becomes linear; a following 1-D bias add joins it.

// CHECK-LABEL: func @matmul_add
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %[[W:.*]]: tensor<16x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NEXT: %[[Y:.*]] = accel.linear %[[X]], %[[W]], %[[B]] {weight_in_out} : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT: return %[[Y]]
func.func @matmul_add(%x: tensor<2x8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %0 = accel.matmul %x, %w : (tensor<2x8x16xf32>, tensor<16x32xf32>) -> tensor<2x8x32xf32>
  %1 = accel.add %b, %0 : (tensor<32xf32>, tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %1 : tensor<2x8x32xf32>
}

// -----

// A transposed weight is the torch.nn.Linear layout: no weight_in_out.
// CHECK-LABEL: func @transposed_weight
// CHECK: accel.linear %{{.*}}, %{{.*}} : (tensor<4x16xf32>, tensor<32x16xf32>) -> tensor<4x32xf32>
func.func @transposed_weight(%x: tensor<4x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x32xf32> {
  %0 = accel.matmul %x, %w {transpose_rhs} : (tensor<4x16xf32>, tensor<32x16xf32>) -> tensor<4x32xf32>
  return %0 : tensor<4x32xf32>
}

// -----

// A bias of shape [1, N] is reshaped to [N]; a product read twice keeps its
// add separate.
// CHECK-LABEL: func @bias_row_and_shared_product
// CHECK: %[[R:.*]] = accel.reshape %{{.*}} : (tensor<1x32xf32>) -> tensor<32xf32>
// CHECK: accel.linear %{{.*}}, %{{.*}}, %[[R]] {weight_in_out}
// CHECK: %[[P:.*]] = accel.linear %{{.*}}, %{{.*}} {weight_in_out}
// CHECK: accel.add %[[P]], %{{.*}}
// CHECK: accel.mul %[[P]], %[[P]]
func.func @bias_row_and_shared_product(%x: tensor<4x16xf32>, %w: tensor<16x32xf32>, %b: tensor<1x32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>) {
  %0 = accel.matmul %x, %w : (tensor<4x16xf32>, tensor<16x32xf32>) -> tensor<4x32xf32>
  %1 = accel.add %0, %b : (tensor<4x32xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
  %2 = accel.matmul %x, %w : (tensor<4x16xf32>, tensor<16x32xf32>) -> tensor<4x32xf32>
  %3 = accel.add %2, %b : (tensor<4x32xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
  %4 = accel.mul %2, %2 : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
  return %1, %3, %4 : tensor<4x32xf32>, tensor<4x32xf32>, tensor<4x32xf32>
}

// -----

// Batched weights are not linear layers.
// CHECK-LABEL: func @batched_rhs
// CHECK: accel.matmul
// CHECK-NOT: accel.linear
func.func @batched_rhs(%x: tensor<2x4x16xf32>, %w: tensor<2x16x8xf32>) -> tensor<2x4x8xf32> {
  %0 = accel.matmul %x, %w : (tensor<2x4x16xf32>, tensor<2x16x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}
