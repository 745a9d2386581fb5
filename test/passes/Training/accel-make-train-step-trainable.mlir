// RUN: accel-opt %s -split-input-file -accel-make-train-step="optimizer=sgd freeze=^body\. report-trainable=true" -verify-diagnostics | FileCheck %s --check-prefix=FREEZE
// RUN: accel-opt %s -split-input-file -accel-make-train-step="optimizer=sgd trainable=head,^body\.1 report-trainable=true" -verify-diagnostics | FileCheck %s --check-prefix=ONLY
// Which parameters train: freeze= and trainable= select by name; buffers
// never train; frozen parameters (marked accel.frozen) and buffers stay
// arguments, without an update.

// A frozen body under a trained head; the buffer scales the output.
// FREEZE-LABEL: func.func @train_step
// FREEZE-SAME: {accel.param = "head.weight"}
// FREEZE-NOT: accel.update = "body
// FREEZE-SAME: {accel.frozen, accel.param = "body.0.weight"}
// FREEZE-SAME: {accel.frozen, accel.param = "body.1.weight"}
// FREEZE-SAME: {accel.buffer = "scale"}
// FREEZE-SAME: {accel.update = "head.weight"}
// FREEZE-NOT: accel.update
// FREEZE: accel.sgd
// FREEZE-NOT: accel.sgd
// ONLY-LABEL: func.func @train_step
// ONLY-SAME: {accel.param = "body.1.weight"}
// ONLY-SAME: {accel.param = "head.weight"}
// ONLY-SAME: {accel.frozen, accel.param = "body.0.weight"}
// ONLY-SAME: {accel.update = "body.1.weight"}
// ONLY-SAME: {accel.update = "head.weight"}
// ONLY-COUNT-2: accel.sgd
// ONLY-NOT: accel.sgd
// expected-remark-re@+1 {{trains {{1 of 3 parameters \(12 elements, 48 bytes\); frozen: 2 \(128 bytes\)|2 of 3 parameters \(28 elements, 112 bytes\); frozen: 1 \(64 bytes\)}}; buffers: 1}}
func.func @mlp(%w0: tensor<4x4xf32> {accel.param = "body.0.weight"},
               %w1: tensor<4x4xf32> {accel.param = "body.1.weight"},
               %h: tensor<3x4xf32> {accel.param = "head.weight"},
               %s: tensor<3xf32> {accel.buffer = "scale"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32> {
  %0 = accel.linear %x, %w0 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = accel.linear %0, %w1 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %2 = accel.linear %1, %h : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %3 = accel.mul %2, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %3 : tensor<2x3xf32>
}
