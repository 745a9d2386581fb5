// RUN: accel-opt %s -split-input-file --accel-build-loss --accel-add-gradients --accel-accumulate-gradients="accumulate=0" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file --accel-accumulate-gradients="accumulate=2" 2>&1 | FileCheck %s --check-prefix=FORM
// RUN: not accel-opt %s -split-input-file --accel-make-train-step="accumulate=2 normalization=sum" 2>&1 | FileCheck %s --check-prefix=ENUM
// Accumulation the pass refuses, each named.

// A count of micro-batches below one.
// expected-error@+1 {{accel-accumulate-gradients: accumulate must be at least 1, not 0}}
func.func @mlp(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32> {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// A module without the gradient form of a step.
// FORM: error: accel-accumulate-gradients: the module has no @train_step (accel-build-loss builds it)
// An unknown normalization is refused by the option parser.
// ENUM: for the --normalization option: Cannot find option named 'sum'

