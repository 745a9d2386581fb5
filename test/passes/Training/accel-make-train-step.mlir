// RUN: accel-opt %s -split-input-file -accel-make-train-step="clip-norm=1.0 weight-decay=0.01 schedule=linear warmup-steps=10 total-steps=100" | FileCheck %s --check-prefix=ADAMW
// RUN: accel-opt %s -split-input-file -accel-make-train-step="loss=mse optimizer=sgd momentum=0.9 nesterov=true lr=0.1" | FileCheck %s --check-prefix=SGD
// RUN: accel-opt %s -split-input-file -accel-make-train-step="optimizer=sgd skip-nonfinite=true label-smoothing=0.1 ignore-index=0" | FileCheck %s --check-prefix=PLAIN
// RUN: accel-opt %s -split-input-file -accel-make-train-step="function=mlp beta1=0.8 beta2=0.95 eps=1e-6 schedule=cosine warmup-steps=2 total-steps=10 num-cycles=1.5" | FileCheck %s --check-prefix=NAMED
// The training step and the evaluation step built from a forward function.

// AdamW with clipping and a linear schedule: parameters, then both moments
// per parameter, then step, inputs and labels; the loss, its fused
// gradient, the reverse sweep, the global norm, clip_grad_norm_'s
// coefficient, the schedule and one update per parameter. A non-finite
// loss or norm gates every update and is returned as `nonfinite`, on which
// the trainer stops: the update of that step is never applied.
// ADAMW-LABEL: func.func @train_step
// ADAMW-SAME: %[[W:[^:]*]]: tensor<3x4xf32> {accel.param = "fc.weight"}
// ADAMW-SAME: %[[B:[^:]*]]: tensor<3xf32> {accel.param = "fc.bias"}
// ADAMW-SAME: %[[MW:[^:]*]]: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg"}
// ADAMW-SAME: %[[MB:[^:]*]]: tensor<3xf32> {accel.state = "fc.bias.exp_avg"}
// ADAMW-SAME: %[[VW:[^:]*]]: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg_sq"}
// ADAMW-SAME: %[[VB:[^:]*]]: tensor<3xf32> {accel.state = "fc.bias.exp_avg_sq"}
// ADAMW-SAME: %[[STEP:[^:]*]]: tensor<i64> {accel.input = "step"}
// ADAMW-SAME: %[[X:[^:]*]]: tensor<2x4xf32> {accel.input = "x"}
// ADAMW-SAME: %[[Y:[^:]*]]: tensor<2xi64> {accel.input = "labels"}
// ADAMW-SAME: -> (tensor<f32> {accel.output = "loss"}, tensor<f64> {accel.output = "lr"}, tensor<f32> {accel.output = "grad_norm"}, tensor<i1> {accel.output = "nonfinite"},
// ADAMW-SAME: tensor<3x4xf32> {accel.update = "fc.weight"}, tensor<3xf32> {accel.update = "fc.bias"},
// ADAMW-SAME: tensor<3x4xf32> {accel.update = "fc.weight.exp_avg"}, tensor<3xf32> {accel.update = "fc.bias.exp_avg"},
// ADAMW-SAME: tensor<3x4xf32> {accel.update = "fc.weight.exp_avg_sq"}, tensor<3xf32> {accel.update = "fc.bias.exp_avg_sq"})
// The forward's metadata (its Hugging Face config) carries over.
// ADAMW-SAME: attributes {accel.metadata = {hf_config = "the-config", num_classes = 3 : i64}}
// ADAMW: %[[LOGITS:.*]] = accel.linear %[[X]], %[[W]], %[[B]]
// ADAMW: %[[LOSS:.*]] = accel.cross_entropy %[[LOGITS]], %[[Y]]
// ADAMW: %[[SEED:.*]] = accel.constant dense<1.000000e+00> : tensor<f32>
// ADAMW: %[[DLOGITS:.*]] = accel.cross_entropy_grad %[[LOGITS]], %[[Y]], %[[SEED]]
// ADAMW: %[[DW:.*]] = accel.matmul %{{.*}}, %{{.*}} {transpose_lhs}
// ADAMW: %[[DB:.*]] = accel.reduce_sum %{{.*}} {axes = array<i64: 0>}
// ADAMW: %[[NORM:.*]] = accel.global_norm %[[DW]], %[[DB]]
// ADAMW: %[[EPS:.*]] = accel.constant dense<9.99999997E-7>
// ADAMW: %[[PADDED:.*]] = accel.add %[[NORM]], %[[EPS]]
// ADAMW: %[[INVERSE:.*]] = accel.reciprocal %[[PADDED]]
// ADAMW: %[[COEF:.*]] = accel.mul %[[INVERSE]], %{{.*}}
// ADAMW: %[[SCALE:.*]] = accel.min %[[COEF]], %{{.*}}
// ADAMW: %[[STOP:.*]] = accel.not
// ADAMW: %[[LR:.*]] = accel.lr_schedule %[[STEP]] {lr = 1.000000e-03 : f64, schedule = #accel<lr_schedule linear>, total_steps = 100 : i64, warmup_steps = 10 : i64}
// ADAMW: %[[P0:.*]], %[[M0:.*]], %[[V0:.*]] = accel.adamw %[[W]], %[[DW]], %[[MW]], %[[VW]], %[[LR]], %[[STEP]], %[[SCALE]], %[[STOP]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, epsilon = 1.000000e-08 : f64, {{.*}}weight_decay = 1.000000e-02
// ADAMW: %[[P1:.*]], %[[M1:.*]], %[[V1:.*]] = accel.adamw %[[B]], %[[DB]], %[[MB]], %[[VB]], %[[LR]], %[[STEP]], %[[SCALE]], %[[STOP]]
// ADAMW: return %[[LOSS]], %[[LR]], %[[NORM]], %[[STOP]], %[[P0]], %[[P1]], %[[M0]], %[[M1]], %[[V0]], %[[V1]]

// The evaluation step: the forward computation and the loss.
// ADAMW-LABEL: func.func @eval_step
// ADAMW-SAME: (%{{.*}}: tensor<3x4xf32> {accel.param = "fc.weight"}, %{{.*}}: tensor<3xf32> {accel.param = "fc.bias"}, %{{.*}}: tensor<2x4xf32> {accel.input = "x"}, %{{.*}}: tensor<2xi64> {accel.input = "labels"})
// ADAMW-SAME: -> (tensor<f32> {accel.output = "loss"})
// ADAMW: accel.linear
// ADAMW: %[[L:.*]] = accel.cross_entropy
// ADAMW: return %[[L]]

// SGD with Nesterov momentum on an MSE loss: one momentum buffer per
// parameter, labels shaped like the output, no clipping.
// SGD-LABEL: func.func @train_step
// SGD-SAME: {accel.state = "fc.weight.momentum_buffer"}
// SGD-SAME: %[[Y:[^:]*]]: tensor<2x3xf32> {accel.input = "labels"}
// SGD: %[[D:.*]] = accel.sub %{{.*}}, %[[Y]]
// SGD: %[[SQ:.*]] = accel.mul %[[D]], %[[D]]
// SGD: %[[LOSS:.*]] = accel.reduce_mean %[[SQ]] {axes = array<i64: 0, 1>}
// SGD-NOT: accel.min
// SGD: accel.lr_schedule %{{.*}} {lr = 1.000000e-01 : f64, schedule = #accel<lr_schedule constant>}
// SGD: %{{.*}}, %{{.*}} = accel.sgd %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {dampening = 0.000000e+00 : f64, momentum = 9.000000e-01 : f64, nesterov = true
// SGD-LABEL: func.func @eval_step

// Plain SGD that skips non-finite steps: found_inf is "not (norm < inf and
// |loss| < inf)", fed to every update and returned; the schedule and the
// updates follow the count of applied updates, optimizer state that does
// not advance on a skipped step.
// PLAIN-LABEL: func.func @train_step
// PLAIN-SAME: %[[APPLIED:[^:]*]]: tensor<i64> {accel.state = "optimizer.applied_steps"}
// PLAIN-SAME: -> (tensor<f32> {accel.output = "loss"}, tensor<f64> {accel.output = "lr"}, tensor<f32> {accel.output = "grad_norm"}, tensor<i1> {accel.output = "found_inf"}, tensor<3x4xf32> {accel.update = "fc.weight"}, tensor<3xf32> {accel.update = "fc.bias"}, tensor<i64> {accel.update = "optimizer.applied_steps"})
// PLAIN: %[[LOSS:.*]] = accel.cross_entropy %{{.*}}, %{{.*}} {ignore_index = 0 : i64, label_smoothing = 1.000000e-01 : f64}
// PLAIN: %[[NORM:.*]] = accel.global_norm
// PLAIN: %[[INF:.*]] = accel.constant dense<0x7F800000> : tensor<f32>
// PLAIN: %[[NORM_OK:.*]] = accel.compare %[[NORM]], %[[INF]] {direction = #accel<compare_direction lt>}
// PLAIN: %[[SIZE:.*]] = accel.abs %[[LOSS]]
// PLAIN: %[[LOSS_OK:.*]] = accel.compare %[[SIZE]], %[[INF]] {direction = #accel<compare_direction lt>}
// PLAIN: %[[FINITE:.*]] = accel.where %[[NORM_OK]], %[[LOSS_OK]], %{{.*}}
// PLAIN: %[[SKIP:.*]] = accel.not %[[FINITE]]
// PLAIN: %[[NEXT:.*]] = accel.add %[[APPLIED]], %{{.*}} : (tensor<i64>, tensor<i64>) -> tensor<i64>
// PLAIN: %[[COUNT:.*]] = accel.where %[[SKIP]], %[[APPLIED]], %[[NEXT]]
// PLAIN: %[[LR:.*]] = accel.lr_schedule %[[APPLIED]]
// PLAIN: accel.sgd %{{.*}}, %{{.*}}, %[[LR]], %[[APPLIED]], %[[SKIP]] {dampening
// PLAIN: return {{.*}}, %[[COUNT]] :
// The forward function named, AdamW's betas and epsilon, a cosine schedule
// with its cycle count.
// NAMED-LABEL: func.func @train_step
// NAMED: accel.lr_schedule %{{.*}} {lr = 1.000000e-03 : f64, num_cycles = 1.500000e+00 : f64, schedule = #accel<lr_schedule cosine>, total_steps = 10 : i64, warmup_steps = 2 : i64}
// NAMED: accel.adamw {{.*}} {beta1 = 8.000000e-01 : f64, beta2 = 0.94999999999999996 : f64, epsilon = 9.9999999999999995E-7 : f64
func.func @mlp(%w: tensor<3x4xf32> {accel.param = "fc.weight"}, %b: tensor<3xf32> {accel.param = "fc.bias"},
               %x: tensor<2x4xf32> {accel.input = "x"}) -> (tensor<2x3xf32> {accel.output = "logits"})
    attributes {accel.metadata = {hf_config = "the-config"}} {
  %0 = accel.linear %x, %w, %b : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
