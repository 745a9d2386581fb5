// RUN: accel-opt %s -split-input-file --accel-make-train-step="mixed-precision=fp16 loss-scale=none" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file --accel-build-loss --accel-add-gradients --accel-mixed-precision="dtype=bf16" 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not accel-opt %s -split-input-file --accel-make-train-step="mixed-precision=fp8" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not accel-opt %s --accel-make-train-step="mixed-precision=fp16 growth-factor=1" 2>&1 | FileCheck %s --check-prefix=GROWTH
// RUN: not accel-opt %s --accel-make-train-step="mixed-precision=fp16 backoff-factor=0" 2>&1 | FileCheck %s --check-prefix=BACKOFF
// RUN: not accel-opt %s --accel-make-train-step="mixed-precision=fp16 growth-interval=0" 2>&1 | FileCheck %s --check-prefix=INTERVAL
// RUN: not accel-opt %s --accel-make-train-step="mixed-precision=fp16 init-scale=1e39" 2>&1 | FileCheck %s --check-prefix=INIT
// RUN: not accel-opt %s --accel-make-train-step="mixed-precision=fp16 loss-scale=static" 2>&1 | FileCheck %s --check-prefix=KIND
// Precision and loss scaling the passes warn about or refuse, each named.

// fp16 without loss scaling is allowed, with a warning.
// expected-warning@+1 {{accel-add-optimizer: an fp16 step without loss scaling: gradients below fp16's smallest value (6e-8) become zero and large ones overflow; use loss-scale=dynamic (GradScaler's)}}
func.func @mlp(%w: tensor<4x4xf32> {accel.param = "w"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// After the gradients are built, casts would not reach them.
// ORDER: accel-mixed-precision: runs on the loss form of the step, before accel-add-gradients
// An unknown type is refused by the option parser.
// UNKNOWN: for the --dtype option: Cannot find option named 'fp8'
// GradScaler's own checks of its settings.
// GROWTH: accel-add-optimizer: growth-factor must be a finite number > 1
// BACKOFF: accel-add-optimizer: backoff-factor must be in (0, 1)
// INTERVAL: accel-add-optimizer: growth-interval must be a positive integer
// INIT: accel-add-optimizer: init-scale must be a positive number within fp32's range
// KIND: for the --loss-scale option: Cannot find option named 'static'
