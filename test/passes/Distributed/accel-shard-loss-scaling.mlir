// RUN: accel-opt %s -accel-make-train-step="mixed-precision=fp16" -accel-shard="dp=2 zero=3" | FileCheck %s --check-prefix=ZERO
// RUN: accel-opt %s -accel-make-train-step="mixed-precision=fp16" -accel-shard="tp=2" | FileCheck %s --check-prefix=TP
// RUN: accel-opt %s -accel-make-train-step="mixed-precision=fp16" -accel-shard="dp=2" | FileCheck %s --check-prefix=DP
// A loss-scaled (fp16) step under the layouts: each rank unscales and
// checks its own blocks of the gradients, and found_inf is agreed over the
// axes that split them (max) before the updates and the scale's update,
// so every rank skips the same steps. Plain dp needs no agreement: every
// rank holds the summed gradients. The scale reaches the fused head as its
// cotangent, so each rank's logit gradients are scaled before fp16.

// ZERO-LABEL: func.func @train_step
// ZERO-SAME: %[[SCALE:[^:]*]]: tensor<f32> {accel.initial = 6.553600e+04 : f64, accel.state = "scaler.scale"}
// ZERO: accel.linear_cross_entropy {{.*}} cotangent %[[SCALE]] : (tensor<2x2x8xf16>, tensor<16x8xf16>, tensor<2x2xi64>, tensor<i64>, tensor<f32>)
// ZERO: %[[FOUND:.*]], %{{.*}} = accel.unscale_gradients %{{.*}} : (tensor<f32>, tensor<16x8xf32>
// ZERO: %[[F:.*]] = accel.cast %[[FOUND]] : (tensor<i1>) -> tensor<f32>
// ZERO: %[[ANY:.*]] = accel.all_reduce %[[F]] {group = "dp", reduction = #accel<reduction max>}
// ZERO: %[[SKIP:.*]] = accel.compare %[[ANY]]
// ZERO: accel.adamw {{.*}}, %[[SKIP]] {
// ZERO: accel.update_loss_scale %[[SCALE]], %{{.*}}, %[[SKIP]]

// TP-LABEL: func.func @train_step
// TP: accel.unscale_gradients
// TP: accel.all_reduce %{{.*}} {group = "tp", reduction = #accel<reduction max>}
// TP: accel.update_loss_scale

// DP-LABEL: func.func @train_step
// DP: %[[FOUND:.*]], %{{.*}} = accel.unscale_gradients
// DP-NOT: reduction max
// DP: accel.update_loss_scale %{{.*}}, %{{.*}}, %[[FOUND]]
func.func @main(%x: tensor<4x2x8xf32> {accel.input = "x"},
                %w1: tensor<32x8xf32> {accel.param = "mlp.up_proj.weight"},
                %b1: tensor<32xf32> {accel.param = "mlp.up_proj.bias"},
                %w2: tensor<8x32xf32> {accel.param = "mlp.down_proj.weight"},
                %b2: tensor<8xf32> {accel.param = "mlp.down_proj.bias"},
                %head: tensor<16x8xf32> {accel.param = "lm_head.weight"})
    -> (tensor<4x2x16xf32> {accel.output = "logits"}) {
  %h = accel.linear %x, %w1, %b1 : (tensor<4x2x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<4x2x32xf32>
  %a = accel.tanh %h : (tensor<4x2x32xf32>) -> tensor<4x2x32xf32>
  %o = accel.linear %a, %w2, %b2 : (tensor<4x2x32xf32>, tensor<8x32xf32>, tensor<8xf32>) -> tensor<4x2x8xf32>
  %logits = accel.linear %o, %head : (tensor<4x2x8xf32>, tensor<16x8xf32>) -> tensor<4x2x16xf32>
  return %logits : tensor<4x2x16xf32>
}
