// RUN: accel-opt %s -split-input-file -canonicalize | FileCheck %s
// Folds of accel ops, including constant folding through the runtime's kernels.

// Constant operands fold to constants by running the CPU kernel.
// CHECK-LABEL: func @fold_constants
// CHECK-NEXT: %[[C:.*]] = accel.constant dense<[5, 7, 9]> : tensor<3xi64>
// CHECK-NEXT: return %[[C]]
func.func @fold_constants() -> tensor<3xi64> {
  %a = accel.constant dense<[1, 2, 3]> : tensor<3xi64>
  %b = accel.constant dense<[4, 5, 6]> : tensor<3xi64>
  %0 = accel.add %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// A shape computation as exporters write it: gather a dim, concat, compare.
// CHECK-LABEL: func @fold_shape_graph
// CHECK-DAG: accel.constant dense<[2, 16, 4, 8]> : tensor<4xi64>
// CHECK-DAG: accel.constant dense<true> : tensor<2xi1>
// CHECK-NOT: accel.gather
// CHECK-NOT: accel.concat
func.func @fold_shape_graph() -> (tensor<4xi64>, tensor<2xi1>) {
  %shape = accel.constant dense<[2, 16, 32]> : tensor<3xi64>
  %idx = accel.constant dense<[0, 1]> : tensor<2xi64>
  %lead = accel.gather %shape, %idx {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %heads = accel.constant dense<[4, 8]> : tensor<2xi64>
  %0 = accel.concat %lead, %heads {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  %1 = accel.compare %lead, %idx {direction = #accel<compare_direction ne>} : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi1>
  return %0, %1 : tensor<4xi64>, tensor<2xi1>
}

// -----

// Reshape chains collapse; identity reshapes and transposes disappear.
// CHECK-LABEL: func @fold_reshape_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x6xf32>)
// CHECK-NEXT: %[[R:.*]] = accel.reshape %[[X]] : (tensor<2x6xf32>) -> tensor<12xf32>
// CHECK-NEXT: return %[[R]], %[[X]]
func.func @fold_reshape_transpose(%x: tensor<2x6xf32>) -> (tensor<12xf32>, tensor<2x6xf32>) {
  %0 = accel.reshape %x : (tensor<2x6xf32>) -> tensor<3x4xf32>
  %1 = accel.reshape %0 : (tensor<3x4xf32>) -> tensor<12xf32>
  %2 = accel.transpose %x {permutation = array<i64: 1, 0>} : (tensor<2x6xf32>) -> tensor<6x2xf32>
  %3 = accel.transpose %2 {permutation = array<i64: 1, 0>} : (tensor<6x2xf32>) -> tensor<2x6xf32>
  return %1, %3 : tensor<12xf32>, tensor<2x6xf32>
}

// -----

// Two transposes compose into one.
// CHECK-LABEL: func @compose_transposes
// CHECK-NEXT: accel.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-NEXT: return
func.func @compose_transposes(%x: tensor<1x8x4x16xf32>) -> tensor<1x4x8x16xf32> {
  %0 = accel.transpose %x {permutation = array<i64: 0, 2, 3, 1>} : (tensor<1x8x4x16xf32>) -> tensor<1x4x16x8xf32>
  %1 = accel.transpose %0 {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x4x16x8xf32>) -> tensor<1x4x8x16xf32>
  return %1 : tensor<1x4x8x16xf32>
}

// -----

// A constant mask that is exactly causal becomes the causal flag.
// CHECK-LABEL: func @causal_mask_to_flag
// CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} :
func.func @causal_mask_to_flag(%q: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %m = accel.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %0 = accel.attention %q, %q, %q, %m : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x1x3x3xi1>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

// A mask that is not causal stays an operand.
// CHECK-LABEL: func @other_mask_kept
// CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :
func.func @other_mask_kept(%q: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %m = accel.constant dense<[[[[true, true, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %0 = accel.attention %q, %q, %q, %m : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x1x3x3xi1>) -> tensor<1x2x3x4xf32>
  return %0 : tensor<1x2x3x4xf32>
}

// -----

// Broadcasting a splat constant gives a bigger splat; broadcasting to the
// same type is the identity.
// CHECK-LABEL: func @fold_broadcast
// CHECK: accel.constant dense<2.000000e+00> : tensor<4x3xf32>
func.func @fold_broadcast(%x: tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %c = accel.constant dense<2.0> : tensor<3xf32>
  %0 = accel.broadcast %c : (tensor<3xf32>) -> tensor<4x3xf32>
  %1 = accel.broadcast %x : (tensor<3xf32>) -> tensor<3xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<3xf32>
}

// -----

// A float mask (0 keeps, very negative drops), repeated per batch, is causal
// too when every slice is.
// CHECK-LABEL: func @batched_float_causal_mask
// CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} :
func.func @batched_float_causal_mask(%q: tensor<2x1x2x4xf32>) -> tensor<2x1x2x4xf32> {
  %m = accel.constant dense<[[[[0.0, -3.4e38], [0.0, 0.0]]], [[[0.0, -3.4e38], [0.0, 0.0]]]]> : tensor<2x1x2x2xf32>
  %0 = accel.attention %q, %q, %q, %m : (tensor<2x1x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2x1x2x4xf32>, tensor<2x1x2x2xf32>) -> tensor<2x1x2x4xf32>
  return %0 : tensor<2x1x2x4xf32>
}

// -----

// A linear layer reading its weight through a transpose reads it in the
// other layout instead (a tied LM head).
// CHECK-LABEL: func @linear_weight_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[W:.*]]: tensor<16x8xf32>)
// CHECK-NEXT: accel.linear %[[X]], %[[W]] : (tensor<2x8xf32>, tensor<16x8xf32>) -> tensor<2x16xf32>
func.func @linear_weight_transpose(%x: tensor<2x8xf32>, %w: tensor<16x8xf32>) -> tensor<2x16xf32> {
  %t = accel.transpose %w {permutation = array<i64: 1, 0>} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  %0 = accel.linear %x, %t {weight_in_out} : (tensor<2x8xf32>, tensor<8x16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// x * sigmoid(x) is silu(x); sigmoid of something else is left alone.
// CHECK-LABEL: func @silu
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[Y:.*]]: tensor<4xf32>)
// CHECK: accel.silu %[[X]]
// CHECK: accel.sigmoid %[[Y]]
// CHECK: accel.mul %[[X]]
func.func @silu(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %s = accel.sigmoid %x : (tensor<4xf32>) -> tensor<4xf32>
  %0 = accel.mul %s, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %t = accel.sigmoid %y : (tensor<4xf32>) -> tensor<4xf32>
  %1 = accel.mul %x, %t : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// x * 1.0 is x, on either side; not when the one broadcasts x to a larger
// shape, and not for other constants.
// CHECK-LABEL: func @mul_by_one
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[B:.*]] = accel.mul %[[X]], %{{.*}} : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[T:.*]] = accel.mul %[[X]], %{{.*}} : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK: return %[[X]], %[[X]], %[[B]], %[[T]]
func.func @mul_by_one(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<2x4xf32>, tensor<4xf32>) {
  %one = accel.constant dense<1.0> : tensor<f32>
  %ones = accel.constant dense<1.0> : tensor<2x4xf32>
  %two = accel.constant dense<2.0> : tensor<f32>
  %0 = accel.mul %x, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = accel.mul %one, %x : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = accel.mul %x, %ones : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %3 = accel.mul %x, %two : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4xf32>, tensor<2x4xf32>, tensor<4xf32>
}

// -----

// A cumsum of constants folds through the runtime kernel (position ids from
// a constant mask); a collective never folds: its value depends on the other
// ranks.
// CHECK-LABEL: func.func @cumsum_folds_collectives_do_not
// CHECK-DAG: accel.constant dense<[1, 2, 2, 3]> : tensor<4xi64>
// CHECK-NOT: accel.cumsum
// CHECK: accel.all_reduce
func.func @cumsum_folds_collectives_do_not() -> (tensor<4xi64>, tensor<2xf32>) {
  %c = accel.constant dense<[1, 1, 0, 1]> : tensor<4xi64>
  %0 = accel.cumsum %c {axis = 0 : i64} : (tensor<4xi64>) -> tensor<4xi64>
  %d = accel.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = accel.all_reduce %d {group = "world", reduction = #accel<reduction sum>} : (tensor<2xf32>) -> tensor<2xf32>
  return %0, %1 : tensor<4xi64>, tensor<2xf32>
}
