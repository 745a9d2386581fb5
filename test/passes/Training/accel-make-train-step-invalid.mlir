// RUN: accel-opt %s -split-input-file -accel-make-train-step="schedule=linear" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="optimizer=lion" 2>&1 | FileCheck %s --check-prefix=OPT
// Options and models the training-step pass refuses, each named.

// expected-error@+1 {{schedule 'linear' needs total-steps}}
func.func @no_total(%x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  return %x : tensor<2x4xf32>
}

// OPT: unknown optimizer 'lion' (adamw or sgd)
