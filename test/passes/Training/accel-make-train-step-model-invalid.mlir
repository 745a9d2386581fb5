// RUN: accel-opt %s -split-input-file -accel-make-train-step -verify-diagnostics
// Models the training-step pass cannot build a step for, each named.

// expected-error@+1 {{cross-entropy needs logits with a class dim, not 'tensor<f32>'}}
func.func @scalar_output(%w: tensor<f32> {accel.param = "w"}) -> tensor<f32> {
  return %w : tensor<f32>
}

// -----

// expected-error@+1 {{needs exactly one result}}
func.func @two_outputs(%w: tensor<4xf32> {accel.param = "w"}) -> (tensor<4xf32>, tensor<4xf32>) {
  return %w, %w : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error@+1 {{cannot differentiate 'accel.cross_entropy_grad'}}
func.func @no_rule(%w: tensor<2x4xf32> {accel.param = "w"}, %y: tensor<2xi64> {accel.input = "y"}) -> tensor<2x4xf32> {
  %s = accel.constant dense<1.0> : tensor<f32>
  %0 = accel.cross_entropy_grad %w, %y, %s : (tensor<2x4xf32>, tensor<2xi64>, tensor<f32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// expected-error@+1 {{the module has 2 functions; name the forward one with function=<name>}}
module {
  func.func @a(%w: tensor<2x4xf32> {accel.param = "w"}) -> tensor<2x4xf32> {
    return %w : tensor<2x4xf32>
  }
  func.func @b(%w: tensor<2x4xf32> {accel.param = "w"}) -> tensor<2x4xf32> {
    return %w : tensor<2x4xf32>
  }
}
