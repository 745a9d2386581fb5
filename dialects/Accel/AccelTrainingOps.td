//===- AccelTrainingOps.td - Losses and optimizer updates ----*- tablegen -*-===//
//
// The ops a training step adds around a model: losses with their fused
// gradients, the global gradient norm, the learning-rate schedule and the
// optimizer updates. Each has PyTorch's semantics to the operation order, so
// a compiled step matches `torch.optim` and `transformers.get_scheduler`.
// Optimizer updates are elementwise over their tensors, so sharding passes
// can split them like any elementwise op (ZeRO shards exactly these).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_TRAINING_OPS
#define ACCEL_DIALECT_ACCEL_TRAINING_OPS

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Accel_CrossEntropyOp : Accel_InferredOp<"cross_entropy", [Accel_Differentiable]> {
  let summary = "Mean cross-entropy of logits against class labels";
  let description = [{
    `torch.nn.functional.cross_entropy(logits, labels, ignore_index,
    label_smoothing)` with mean reduction: `logits` is `[..., C]`, `labels`
    holds class indices shaped like the leading dims. Positions whose label
    is `ignore_index` do not count; the mean is over the others (NaN when
    there are none, as in PyTorch). A scalar `count`, when given, is the
    number to divide by instead of the counted positions of `labels`: the
    positions of a batch split across ranks, counted over all of them (the
    sharding partition adds it). With smoothing `e` a position's loss is
    `(1 - e) * nll + e * mean_c(-log p_c)`. A label outside `[0, C)` that is
    not `ignore_index` is a run-time error naming the position.

    The log-probabilities are never materialized: the kernel takes each
    row's log-sum-exp, and the gradient is the fused
    `accel.cross_entropy_grad`.

    ```mlir
    %loss = accel.cross_entropy %logits, %labels {ignore_index = -100 : i64, label_smoothing = 0.0 : f64} : (tensor<8x256x50257xf32>, tensor<8x256xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$logits, Accel_IndexTensor:$labels,
                       Optional<RankedTensorOf<[I64]>>:$count,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing);
  let results = (outs Accel_FloatTensor:$loss);
}

def Accel_CrossEntropyGradOp : Accel_InferredOp<"cross_entropy_grad",
    [DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Gradient of accel.cross_entropy with respect to the logits";
  let description = [{
    `d loss / d logits` scaled by the loss cotangent `dloss` (a scalar):
    `dloss / n * (softmax(logits) - (1 - e) * onehot(label) - e / C)` on
    counted positions, zero on ignored ones, where `n` is the number of
    counted positions (or `count`, as for `accel.cross_entropy`). Same
    attributes as `accel.cross_entropy`. The result
    may be written over the logits (the planner does so when nothing reads
    them afterwards, saving a logits-sized buffer).

    ```mlir
    %dlogits = accel.cross_entropy_grad %logits, %labels, %dloss {ignore_index = -100 : i64, label_smoothing = 0.0 : f64} : (tensor<4x10xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x10xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$logits, Accel_IndexTensor:$labels,
                       Accel_FloatTensor:$dloss,
                       Optional<RankedTensorOf<[I64]>>:$count,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing);
  let results = (outs Accel_FloatTensor:$dlogits);
}

def Accel_LinearCrossEntropyOp : Accel_InferredOp<"linear_cross_entropy",
    [AttrSizedOperandSegments, Accel_Differentiable]> {
  let summary = "A language-model head and its cross-entropy, with gradients, blockwise";
  let description = [{
    `cross_entropy(linear(input, weight), labels)` (no bias; `weight` is
    `[C, K]`, or `[K, C]` with `weight_in_out`), together with the gradients
    of that loss with respect to `input` and `weight` for the loss
    cotangent `cotangent` (an f32 scalar; 1 when absent). The kernel works
    through blocks of rows: each block's logits are computed, turned into
    their gradient in place (times the cotangent) and multiplied back into
    `input_grad` and `weight_grad`, so the `[..., C]` logits (a GPT's
    largest tensor) never exist whole and no GEMM is repeated. The gradient
    rule hands the op its cotangent (the step's `loss.grad`), so a loss
    scale multiplies the logit gradients before they are rounded to fp16,
    as `GradScaler`'s scaled backward pass does: unscaled, the gradients
    of a large vocabulary (about 1e-8 at 50257 classes and 2048 rows)
    would flush to zero in fp16.

    The training-step pass forms this op from a bias-free `accel.linear`
    that produces the logits; attributes and `count` as
    `accel.cross_entropy`. With bf16 input and weight (mixed precision) the
    GEMMs run in bf16 while the logits and the loss are fp32; the
    gradients have the operands' type.

    ```mlir
    %loss, %dh, %dw = accel.linear_cross_entropy %h, %w, %labels : (tensor<8x256x384xf32>, tensor<50257x384xf32>, tensor<8x256xi64>) -> (tensor<f32>, tensor<8x256x384xf32>, tensor<50257x384xf32>)
    // Rows split over ranks (their count), under a loss scale:
    %l, %dhs, %dws = accel.linear_cross_entropy %hs, %w, %ys count %n cotangent %scale : (tensor<4x256x384xf16>, tensor<50257x384xf16>, tensor<4x256xi64>, tensor<i64>, tensor<f32>) -> (tensor<f32>, tensor<4x256x384xf16>, tensor<50257x384xf16>)
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$input, Accel_FloatTensor:$weight,
                       Accel_IndexTensor:$labels,
                       Optional<RankedTensorOf<[I64]>>:$count,
                       Optional<RankedTensorOf<[F32]>>:$cotangent,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index,
                       DefaultValuedAttr<F64Attr, "0.0">:$label_smoothing,
                       UnitAttr:$weight_in_out);
  let results = (outs Accel_FloatTensor:$loss, Accel_FloatTensor:$input_grad,
                      Accel_FloatTensor:$weight_grad);
  // The optional scalars by keyword: `count %n`, `cotangent %s`.
  let assemblyFormat = [{
    $input `,` $weight `,` $labels (`count` $count^)? (`cotangent` $cotangent^)?
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Optimizer building blocks
//===----------------------------------------------------------------------===//

def Accel_GlobalNormOp : Accel_InferredOp<"global_norm"> {
  let summary = "The 2-norm of all elements of all operands together";
  let description = [{
    `sqrt(sum over operands of sum(x^2))`, the total norm
    `torch.nn.utils.clip_grad_norm_` computes. The kernel accumulates in
    double over fixed chunks, so the value does not depend on the thread
    count.

    ```mlir
    %n = accel.global_norm %g0, %g1 : (tensor<64x32xf32>, tensor<64xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<Accel_FloatTensor>:$operands);
  let results = (outs Accel_FloatTensor:$norm);
}

def Accel_LrScheduleOp : Accel_InferredOp<"lr_schedule"> {
  let summary = "The learning rate of a step, as transformers' schedulers give it";
  let description = [{
    `lr * lambda(step)` in double precision, for `step` counted from 0
    (the optimizer steps already taken), with `lambda` the schedule
    `transformers.get_scheduler` builds: `constant` (1);
    `constant_with_warmup` (`step / warmup_steps` during warm-up, then 1);
    `linear` (warm-up, then down to 0 at `total_steps`); `cosine` (warm-up,
    then `0.5 * (1 + cos(pi * 2 * num_cycles * progress))`, never below 0).

    ```mlir
    %lr = accel.lr_schedule %step {schedule = #accel<lr_schedule linear>, lr = 1.0e-03 : f64, warmup_steps = 100 : i64, total_steps = 1000 : i64} : (tensor<i64>) -> tensor<f64>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I64]>:$step,
                       Accel_LrScheduleAttr:$schedule, F64Attr:$lr,
                       DefaultValuedAttr<I64Attr, "0">:$warmup_steps,
                       DefaultValuedAttr<I64Attr, "0">:$total_steps,
                       DefaultValuedAttr<F64Attr, "0.5">:$num_cycles);
  let results = (outs RankedTensorOf<[F64]>:$result);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dynamic loss scaling (torch.amp.GradScaler)
//===----------------------------------------------------------------------===//

def Accel_UnscaleGradientsOp : Accel_InferredOp<"unscale_gradients", [
    DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Gradients times the inverse loss scale, and whether any is not finite";
  let description = [{
    `GradScaler.unscale_`'s kernel (`torch._amp_foreach_non_finite_check_and_unscale_`):
    each result is its gradient times `inv_scale` (in the gradient's type),
    and `found_inf` is true when some element of some gradient, as given
    (still scaled), is infinite or NaN. Checking the elements, not the
    gradient norm, matters: the squares of large finite gradients can
    overflow where no gradient does. The results may be written over the
    gradients' buffers.

    ```mlir
    %found, %g0u, %g1u = accel.unscale_gradients %inv, %g0, %g1 : (tensor<f32>, tensor<64x32xf32>, tensor<64xf32>) -> (tensor<i1>, tensor<64x32xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$inv_scale,
                       Variadic<Accel_FloatTensor>:$grads);
  let results = (outs Accel_BoolTensor:$found_inf,
                      Variadic<Accel_FloatTensor>:$unscaled);
}

def Accel_UpdateLossScaleOp : Accel_InferredOp<"update_loss_scale"> {
  let summary = "The loss scale and growth tracker after a step, as GradScaler.update sets them";
  let description = [{
    `torch._amp_update_scale_`: after a step that found an inf or NaN, the
    scale times `backoff_factor` and the tracker 0; after a finite step the
    tracker plus one, unless that reaches `growth_interval`: then the scale
    times `growth_factor` (kept only if finite) and the tracker 0. The
    scale is fp32; each product is taken in double and rounded to fp32.

    ```mlir
    %scale1, %tracker1 = accel.update_loss_scale %scale, %tracker, %found {growth_factor = 2.0 : f64, backoff_factor = 5.0e-01 : f64, growth_interval = 2000 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$scale,
                       RankedTensorOf<[I64]>:$growth_tracker,
                       Accel_BoolTensor:$found_inf,
                       F64Attr:$growth_factor, F64Attr:$backoff_factor,
                       I64Attr:$growth_interval);
  let results = (outs RankedTensorOf<[F32]>:$new_scale,
                      RankedTensorOf<[I64]>:$new_growth_tracker);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimizer updates
//===----------------------------------------------------------------------===//

def Accel_AdamWOp : Accel_InferredOp<"adamw", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "One AdamW update of a parameter and its two moments";
  let description = [{
    `torch.optim.AdamW`'s update, operation for operation (fp32 tensors,
    double scalars): with `g = grad * grad_scale` (the clipping
    coefficient, when given) and `t = step + 1`,

    ```
    param      = param * (1 - lr * weight_decay)
    exp_avg    = lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * g * g
    param      = param - lr / (1 - beta1^t) * exp_avg
                   / (sqrt(exp_avg_sq) / sqrt(1 - beta2^t) + epsilon)
    ```

    When `skip` is true the results equal the operands (a step skipped for
    a non-finite gradient). The results may be written over the operands'
    buffers: the memory planner updates parameters and moments in place.

    ```mlir
    %p1, %m1, %v1 = accel.adamw %p, %g, %m, %v, %lr, %step {beta1 = 0.9 : f64, beta2 = 0.999 : f64, epsilon = 1.0e-08 : f64, weight_decay = 0.01 : f64} : (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f64>, tensor<i64>) -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$param, Accel_FloatTensor:$grad,
                       Accel_FloatTensor:$exp_avg, Accel_FloatTensor:$exp_avg_sq,
                       RankedTensorOf<[F64]>:$lr, RankedTensorOf<[I64]>:$step,
                       Optional<Accel_FloatTensor>:$grad_scale,
                       Optional<Accel_BoolTensor>:$skip,
                       F64Attr:$beta1, F64Attr:$beta2, F64Attr:$epsilon,
                       F64Attr:$weight_decay);
  let results = (outs Accel_FloatTensor:$new_param,
                      Accel_FloatTensor:$new_exp_avg,
                      Accel_FloatTensor:$new_exp_avg_sq);
}

def Accel_SgdOp : Accel_InferredOp<"sgd", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "One SGD update (momentum, dampening, Nesterov, weight decay)";
  let description = [{
    `torch.optim.SGD`'s update: with `g = grad * grad_scale` (when given),
    `g += weight_decay * param`; with momentum, the buffer becomes `g` on the
    first step (`step == 0`) and `momentum * buf + (1 - dampening) * g`
    after, and `g` becomes `g + momentum * buf` (Nesterov) or `buf`; then
    `param -= lr * g`. The momentum buffer operand and result are present
    exactly when `momentum` is non-zero. `skip` and in-place writing as for
    `accel.adamw`.

    ```mlir
    %p1, %b1 = accel.sgd %p, %g, %buf, %lr, %step {momentum = 0.9 : f64, dampening = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = false} : (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f64>, tensor<i64>) -> (tensor<64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$param, Accel_FloatTensor:$grad,
                       Optional<Accel_FloatTensor>:$momentum_buffer,
                       RankedTensorOf<[F64]>:$lr, RankedTensorOf<[I64]>:$step,
                       Optional<Accel_FloatTensor>:$grad_scale,
                       Optional<Accel_BoolTensor>:$skip,
                       F64Attr:$momentum, F64Attr:$dampening,
                       F64Attr:$weight_decay, BoolAttr:$nesterov);
  let results = (outs Accel_FloatTensor:$new_param,
                      Optional<Accel_FloatTensor>:$new_momentum_buffer);
}

#endif // ACCEL_DIALECT_ACCEL_TRAINING_OPS
