// RUN: accel-opt %s -split-input-file -accel-differentiate -verify-diagnostics
// What cannot be differentiated is named.

// The optimizer building blocks have no gradient (nothing differentiates
// through a training step).
// expected-error@+1 {{cannot differentiate 'accel.global_norm'}}
func.func @no_rule(%x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<f32> {
  %0 = accel.global_norm %x : (tensor<2x4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// expected-error@+1 {{needs exactly one floating-point tensor result}}
func.func @two_results(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32>, tensor<4xf32>) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}
