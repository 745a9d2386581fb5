// RUN: accel-opt %s -split-input-file -accel-make-train-step="schedule=linear" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="optimizer=lion" 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="lr=nan" 2>&1 | FileCheck %s --check-prefix=NAN
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="lr=inf" 2>&1 | FileCheck %s --check-prefix=INF
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="eps=-1" 2>&1 | FileCheck %s --check-prefix=EPS
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="optimizer=sgd momentum=-1" 2>&1 | FileCheck %s --check-prefix=MOMENTUM
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="schedule=cosine total-steps=10 num-cycles=-1" 2>&1 | FileCheck %s --check-prefix=CYCLES
// Options and models the training-step pass refuses, each named.

// expected-error@+1 {{schedule 'linear' needs total-steps}}
func.func @no_total(%w: tensor<2x4xf32> {accel.param = "w"}, %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.mul %w, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// OPT: for the --optimizer option: Cannot find option named 'lion'
// NAN: lr must be a finite number, not nan
// INF: lr must be a finite number, not inf
// EPS: eps must be non-negative, not -1.000000 (as torch.optim requires)
// MOMENTUM: momentum must be non-negative, not -1.000000 (as torch.optim requires)
// CYCLES: num-cycles must be non-negative, not -1.000000
