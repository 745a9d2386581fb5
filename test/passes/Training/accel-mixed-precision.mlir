// RUN: accel-opt %s --accel-build-loss --accel-mixed-precision="dtype=bf16" | FileCheck %s
// RUN: accel-opt %s --accel-make-train-step="mixed-precision=bf16" | FileCheck %s --check-prefix=STEP
// RUN: accel-opt %s --accel-build-loss --accel-mixed-precision | FileCheck %s --check-prefix=OFF
// The policy's GEMMs on bf16 operands, with fp32 values around them.

// Each GEMM takes bf16 operands and gives a bf16 result; the weight read
// by two GEMMs is cast once; a bf16 result read by the next GEMM is passed
// on as it is, and cast to fp32 for the fp32 ops (tanh, the loss).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:[^:]*]]: tensor<4x4xf32> {accel.param = "w"}
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x4xf32> {accel.input = "x"}
// CHECK: %[[XB:.*]] = accel.cast %[[X]] : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// CHECK: %[[WB:.*]] = accel.cast %[[W]] : (tensor<4x4xf32>) -> tensor<4x4xbf16>
// CHECK: %[[H:.*]] = accel.linear %[[XB]], %[[WB]] : (tensor<2x4xbf16>, tensor<4x4xbf16>) -> tensor<2x4xbf16>
// CHECK-NOT: accel.cast %[[W]]
// CHECK: %[[G:.*]] = accel.linear %[[H]], %[[WB]] : (tensor<2x4xbf16>, tensor<4x4xbf16>) -> tensor<2x4xbf16>
// CHECK: %[[GF:.*]] = accel.cast %[[G]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CHECK: %[[T:.*]] = accel.tanh %[[GF]] : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: accel.cross_entropy %[[T]]
// The evaluation step computes as the training step does.
// CHECK-LABEL: func.func @eval_step
// CHECK: accel.linear {{.*}} -> tensor<2x4xbf16>

// Through the pipeline: the gradient GEMMs run in bf16 too, and the
// parameter's gradient (the sum of its two uses' gradients, in bf16) is cast
// to fp32 for the fp32 optimizer.
// STEP-LABEL: func.func @train_step
// STEP: accel.linear {{.*}} -> tensor<2x4xbf16>
// STEP: accel.matmul {{.*}} {transpose_lhs} : (tensor<2x4xbf16>, tensor<2x4xbf16>) -> tensor<4x4xbf16>
// STEP: %[[GW:.*]] = accel.cast %{{.*}} : (tensor<4x4xbf16>) -> tensor<4x4xf32>
// STEP: accel.global_norm %[[GW]]
// STEP: accel.adamw {{.*}} : (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>,

// dtype=no (the default) changes nothing.
// OFF-LABEL: func.func @train_step
// OFF-NOT: bf16
func.func @mlp(%w: tensor<4x4xf32> {accel.param = "w"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x4xf32> {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = accel.linear %0, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %2 = accel.tanh %1 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %2 : tensor<2x4xf32>
}
