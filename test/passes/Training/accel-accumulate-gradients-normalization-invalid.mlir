// RUN: accel-opt %s -split-input-file --accel-accumulate-gradients="accumulate=2" -verify-diagnostics
// Steps in the gradient form whose cross-entropy global normalization
// cannot divide by the step's count.

// Global normalization needs the loss to be the cross-entropy itself: a
// scaled one would be divided by the count twice.
func.func @train_step(%w: tensor<3x4xf32> {accel.param = "w"}, %step: tensor<i64> {accel.input = "step"},
                      %x: tensor<2x4xf32> {accel.input = "x"}, %y: tensor<2xi64> {accel.input = "labels"},
                      %seed: tensor<f32> {accel.input = "loss.grad"})
    -> (tensor<f32> {accel.output = "loss"}, tensor<3x4xf32> {accel.grad = "w"}) {
  %logits = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %ce = accel.cross_entropy %logits, %y : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  // expected-error@+1 {{the loss is not the cross-entropy itself (it is accel.mul); use normalization=per-micro-batch}}
  %loss = accel.mul %ce, %seed : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %dlogits = accel.cross_entropy_grad %logits, %y, %seed : (tensor<2x3xf32>, tensor<2xi64>, tensor<f32>) -> tensor<2x3xf32>
  %dw = accel.matmul %dlogits, %x {transpose_lhs} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %loss, %dw : tensor<f32>, tensor<3x4xf32>
}

// -----

// A cross-entropy on labels other than the step's input cannot take the
// step's count.
func.func @train_step(%w: tensor<3x4xf32> {accel.param = "w"}, %step: tensor<i64> {accel.input = "step"},
                      %x: tensor<2x4xf32> {accel.input = "x"}, %y: tensor<2xi64> {accel.input = "labels"},
                      %seed: tensor<f32> {accel.input = "loss.grad"})
    -> (tensor<f32> {accel.output = "loss"}, tensor<3x4xf32> {accel.grad = "w"}) {
  %logits = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %other = accel.neg %y : (tensor<2xi64>) -> tensor<2xi64>
  // expected-error@+1 {{a cross-entropy on something other than the step's labels cannot be normalized over the step}}
  %loss = accel.cross_entropy %logits, %other : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  %dlogits = accel.cross_entropy_grad %logits, %other, %seed : (tensor<2x3xf32>, tensor<2xi64>, tensor<f32>) -> tensor<2x3xf32>
  %dw = accel.matmul %dlogits, %x {transpose_lhs} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %loss, %dw : tensor<f32>, tensor<3x4xf32>
}

// -----

// An input that does not lead with the labels' batch (a mask shared by
// every example) cannot be split into micro-batches.
func.func @train_step(%w: tensor<3x4xf32> {accel.param = "w"}, %step: tensor<i64> {accel.input = "step"},
                      %x: tensor<2x4xf32> {accel.input = "x"}, %mask: tensor<1x4xf32> {accel.input = "mask"},
                      %y: tensor<2xi64> {accel.input = "labels"},
                      %seed: tensor<f32> {accel.input = "loss.grad"})
    // expected-error@-4 {{input 'mask' 'tensor<1x4xf32>' does not lead with the batch of the labels (2), so it cannot be split into micro-batches}}
    -> (tensor<f32> {accel.output = "loss"}, tensor<3x4xf32> {accel.grad = "w"}) {
  %masked = accel.mul %x, %mask : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  %logits = accel.linear %masked, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %loss = accel.cross_entropy %logits, %y : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  %dlogits = accel.cross_entropy_grad %logits, %y, %seed : (tensor<2x3xf32>, tensor<2xi64>, tensor<f32>) -> tensor<2x3xf32>
  %dw = accel.matmul %dlogits, %masked {transpose_lhs} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %loss, %dw : tensor<f32>, tensor<3x4xf32>
}
