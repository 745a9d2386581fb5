// RUN: accel-opt %s -split-input-file -accel-differentiate -verify-diagnostics
// What cannot be differentiated is named.

// expected-error@+1 {{cannot differentiate 'accel.reduce_max'}}
func.func @no_rule(%x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2xf32> {
  %0 = accel.reduce_max %x {axes = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @strided(%x: tensor<8xf32> {accel.input = "x"}) -> tensor<4xf32> {
  // expected-error@+1 {{has no gradient rule for strides other than 1}}
  %0 = accel.slice %x {start = array<i64: 0>, limit = array<i64: 8>, stride = array<i64: 2>} : (tensor<8xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error@+1 {{needs exactly one floating-point tensor result}}
func.func @two_results(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32>, tensor<4xf32>) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}
