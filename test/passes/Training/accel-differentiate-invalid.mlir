// RUN: accel-opt %s -split-input-file -accel-differentiate -verify-diagnostics
// What cannot be differentiated is named.

// expected-error@+1 {{cannot differentiate 'accel.layer_norm'}}
func.func @no_rule(%x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// expected-error@+1 {{needs exactly one floating-point tensor result}}
func.func @two_results(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32>, tensor<4xf32>) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}
