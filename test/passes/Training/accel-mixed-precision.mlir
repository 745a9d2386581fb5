// RUN: accel-opt %s --accel-build-loss --accel-mixed-precision="dtype=bf16" | FileCheck %s
// RUN: accel-opt %s --accel-make-train-step="mixed-precision=bf16" | FileCheck %s --check-prefix=STEP
// RUN: accel-opt %s --accel-build-loss --accel-mixed-precision | FileCheck %s --check-prefix=OFF
// RUN: accel-opt %s --accel-make-train-step="mixed-precision=fp16 clip-norm=1.0" | FileCheck %s --check-prefix=FP16
// RUN: accel-opt %s --accel-make-train-step="loss-scale=dynamic init-scale=1024 growth-interval=3" | FileCheck %s --check-prefix=SCALED
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

// fp16: the same policy in float16, and GradScaler's loop around the
// gradients: the loss's cotangent is the scale (optimizer state starting
// at 2^16), the gradients are unscaled by its reciprocal while checked
// element by element, the norm and clipping see the unscaled gradients,
// the check alone skips the update, and the scale is updated after it.
// FP16-LABEL: func.func @train_step
// FP16-SAME: %[[SCALE:[^:]*]]: tensor<f32> {accel.initial = 6.553600e+04 : f64, accel.state = "scaler.scale"}
// FP16-SAME: %[[TRACKER:[^:]*]]: tensor<i64> {accel.state = "scaler.growth_tracker"}
// FP16-SAME: tensor<i1> {accel.output = "found_inf"}, tensor<f32> {accel.output = "loss_scale"}
// FP16-SAME: tensor<f32> {accel.update = "scaler.scale"}, tensor<i64> {accel.update = "scaler.growth_tracker"}
// FP16: accel.linear {{.*}} -> tensor<2x4xf16>
// FP16: accel.cross_entropy_grad %{{.*}}, %{{.*}}, %[[SCALE]]
// FP16: %[[GW:.*]] = accel.cast %{{.*}} : (tensor<4x4xf16>) -> tensor<4x4xf32>
// FP16: %[[INV:.*]] = accel.reciprocal %[[SCALE]]
// FP16: %[[FOUND:.*]], %[[G:.*]] = accel.unscale_gradients %[[INV]], %[[GW]]
// FP16: accel.global_norm %[[G]]
// FP16-NOT: accel.compare
// FP16: accel.adamw %{{.*}}, %[[G]], {{.*}}, %[[FOUND]] {
// FP16: %[[NEW:.*]], %[[NEWT:.*]] = accel.update_loss_scale %[[SCALE]], %[[TRACKER]], %[[FOUND]] {backoff_factor = 5.000000e-01 : f64, growth_factor = 2.000000e+00 : f64, growth_interval = 2000 : i64}
// FP16: return {{.*}}, %[[FOUND]], %[[NEW]], {{.*}}, %[[NEW]], %[[NEWT]] :

// Loss scaling can be asked for without fp16 (GradScaler(enabled=True) on
// an fp32 model), with GradScaler's settings.
// SCALED-LABEL: func.func @train_step
// SCALED-SAME: {accel.initial = 1.024000e+03 : f64, accel.state = "scaler.scale"}
// SCALED-NOT: f16
// SCALED: accel.update_loss_scale {{.*}} growth_interval = 3 : i64

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
