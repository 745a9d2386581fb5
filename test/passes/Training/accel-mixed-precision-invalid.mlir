// RUN: accel-opt %s -split-input-file --accel-build-loss --accel-mixed-precision="dtype=fp16" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file --accel-build-loss --accel-add-gradients --accel-mixed-precision="dtype=bf16" 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not accel-opt %s -split-input-file --accel-make-train-step="mixed-precision=fp8" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// Precision the pass refuses, each named.

// fp16 needs loss scaling, not built yet.
// expected-error@+1 {{dtype=fp16 needs dynamic loss scaling (GradScaler's), which accel does not build yet; use dtype=bf16}}
func.func @mlp(%w: tensor<4x4xf32> {accel.param = "w"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// After the gradients are built, casts would not reach them.
// ORDER: accel-mixed-precision: runs on the loss form of the step, before accel-add-gradients
// An unknown type is refused by the option parser.
// UNKNOWN: for the --dtype option: Cannot find option named 'fp8'
