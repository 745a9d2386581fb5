//===- Passes.td - Passes that derive training computations ---*- tablegen -*-===//
#ifndef ACCEL_PASSES_TRAINING_PASSES
#define ACCEL_PASSES_TRAINING_PASSES

include "mlir/Pass/PassBase.td"

def DifferentiatePass : Pass<"accel-differentiate", "mlir::ModuleOp"> {
  let summary = "Adds the reverse-mode gradient function of each model function";
  let description = [{
    For every function with a single tensor result, adds `@<name>_grad`: the
    same arguments plus the result's cotangent (`{accel.input = "<output>.grad"}`),
    returning the cotangent of every floating-point argument
    (`{accel.output = "<argument>.grad"}`), unused ones as zeros. The
    forward computation is cloned and each op's gradient comes from its
    `DifferentiableOpInterface` rule, applied in reverse order; cotangents
    reaching a value along several uses are added.

    This is the autodiff core the training-step pass builds on; on its own
    it lets tests compare every op's gradient with PyTorch's autograd.

    Before:
    ```mlir
    func.func @f(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32> {accel.output = "y"}) {
      %0 = accel.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    ```
    After (added):
    ```mlir
    func.func @f_grad(%x: tensor<4xf32> {accel.input = "x"},
                      %dy: tensor<4xf32> {accel.input = "y.grad"})
        -> (tensor<4xf32> {accel.output = "x.grad"}) {
      %0 = accel.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
      %1 = accel.mul %0, %0 ...      // dy * (1 - y^2)
      ...
    }
    ```
    Fails, naming the op, when an op on the path has no gradient rule.
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

//===----------------------------------------------------------------------===//
// The training step, in stages. `accel-make-train-step` (a pipeline,
// MakeTrainStepPipeline.cpp) runs them in this order; transforms slot in
// between them (accel-accumulate-gradients after the gradients). Between
// stages `@train_step` is an ordinary function whose signature roles are
// named by attributes:
//
//   loss form:      (params..., step, inputs..., labels) -> loss
//   gradient form:  (params..., step, inputs..., labels, loss.grad)
//                       -> (loss, <param>.grad...)
//   final step:     see accel-add-optimizer
//===----------------------------------------------------------------------===//

def BuildLossPass : Pass<"accel-build-loss", "mlir::ModuleOp"> {
  let summary = "Adds the loss of a forward function: @train_step and @eval_step";
  let description = [{
    From a forward function (`function`, or the module's only one) adds

    * `@train_step(params..., %step, inputs..., %labels) -> loss`: the
      forward computation and the loss against `labels`, trained
      parameters first; dropout takes `step`, so every step draws a new
      mask;
    * `@eval_step(params..., inputs..., %labels) -> loss`: the same in eval
      mode (no dropout).

    The first is the *loss form* of the training step, which
    `accel-add-gradients` differentiates. The forward function stays.

    Every floating-point `accel.param` is trained unless `freeze` or
    `trainable` say otherwise; buffers (`accel.buffer`) never are. Both take
    comma-separated regular expressions searched in parameter names (as
    `re.search` does): `trainable` keeps only the matching parameters,
    `freeze` then removes the matching ones, like setting `requires_grad =
    False` on a backbone. Each expression must match a parameter. Frozen
    parameters stay arguments (loaded and saved with the model) marked
    `accel.frozen`. `report-trainable` prints, as a remark, how many
    parameters train and their size. An import that could not tell
    parameters from other weights (`accel.unrecorded_parameters`) needs
    `trainable`; one whose export changed its parameters
    (`accel.untrainable`) is refused with the importer's reason.

    Semantics are PyTorch's: `cross-entropy` is
    `F.cross_entropy(logits.flatten(0, -2), labels.flatten())` on logits
    `[..., C]` and int64 labels shaped like the leading dims; `mse` is
    `F.mse_loss(output, labels)`. When the logits come from a bias-free
    `accel.linear` (a language-model head) the training step computes head
    and loss with `accel.linear_cross_entropy`, block by block, so the
    `[..., vocab]` logits never exist whole (`fuse-lm-head=false` keeps
    them).

    ```mlir
    // accel-opt --accel-build-loss
    func.func @train_step(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
                          %step: tensor<i64> {accel.input = "step"},
                          %x: tensor<2x4xf32> {accel.input = "x"},
                          %y: tensor<2xi64> {accel.input = "labels"})
        -> (tensor<f32> {accel.output = "loss"}) {
      %logits = accel.linear %x, %w ...
      %loss = accel.cross_entropy %logits, %y ...
      return %loss : tensor<f32>
    }
    ```
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "The forward function (default: the module's only function)">,
    Option<"loss", "loss", "::accel::LossKind",
           /*default=*/"::accel::LossKind::CrossEntropy", "The loss",
           [{::llvm::cl::values(
             clEnumValN(::accel::LossKind::CrossEntropy, "cross-entropy",
                        "F.cross_entropy on logits [..., C]"),
             clEnumValN(::accel::LossKind::MeanSquaredError, "mse",
                        "F.mse_loss"))}]>,
    Option<"ignoreIndex", "ignore-index", "int64_t", /*default=*/"-100",
           "Cross-entropy: the label value that does not count">,
    Option<"labelSmoothing", "label-smoothing", "double", /*default=*/"0.0",
           "Cross-entropy: label smoothing in [0, 1]">,
    Option<"trainable", "trainable", "std::string", /*default=*/"\"\"",
           "Train only parameters whose names match one of these "
           "comma-separated regexes">,
    Option<"freeze", "freeze", "std::string", /*default=*/"\"\"",
           "Do not train parameters whose names match one of these "
           "comma-separated regexes">,
    Option<"reportTrainable", "report-trainable", "bool", /*default=*/"false",
           "Report what trains (count, elements, bytes) as a remark">,
    Option<"fuseLmHead", "fuse-lm-head", "bool", /*default=*/"true",
           "Fuse a bias-free linear head with cross-entropy "
           "(accel.linear_cross_entropy): the logits are never held whole">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def MixedPrecisionPass : Pass<"accel-mixed-precision", "mlir::ModuleOp"> {
  let summary = "Runs the step's GEMMs and attention in bf16 or fp16 with fp32 master weights, like torch.autocast";
  let description = [{
    Mixed precision on the loss form of `@train_step` (and on `@eval_step`),
    before `accel-add-gradients`, so that the gradients follow from the
    casts, as under `torch.autocast`: the ops of the policy
    (`PrecisionPolicy.cpp`: `linear`, `matmul`, the fused LM head
    `linear_cross_entropy`, whose logits and loss stay fp32, and
    `attention`, whose scores and softmax stay fp32 and whose mask is not
    cast) take their floating-point operands cast to bf16 and give bf16
    results, products summed in fp32; each result is cast back to fp32 for
    the ops after it, which all run in fp32 (norms, softmax, losses,
    reductions, elementwise ops, and later the gradient norm and the
    optimizer). Parameters stay fp32 (master weights); each is cast once
    per step, where it is first used, however many ops read it (and once
    per step under gradient accumulation, which hoists the cast). A bf16
    result read by another bf16 op is passed on as it is, not cast to fp32
    and back, also through the reshapes, transposes, slices, splits and
    concats between them, which then move bf16 values.

    The gradients of the casts make the backward pass mixed too: a bf16
    op's gradient GEMMs run in bf16, and a parameter's gradient is its bf16
    weight gradient cast to fp32, as PyTorch accumulates it into `.grad`.

    ```mlir
    // accel-opt --accel-build-loss --accel-mixed-precision="dtype=bf16"
    %xb = accel.cast %x : (tensor<8x64xf32>) -> tensor<8x64xbf16>
    %wb = accel.cast %w : (tensor<32x64xf32>) -> tensor<32x64xbf16>
    %yb = accel.linear %xb, %wb : (tensor<8x64xbf16>, tensor<32x64xbf16>) -> tensor<8x32xbf16>
    %y = accel.cast %yb : (tensor<8x32xbf16>) -> tensor<8x32xf32>
    %loss = accel.cross_entropy %y, %labels ...
    ```
    `dtype=fp16` is the same policy in float16: its range (6e-8 to 65504)
    needs dynamic loss scaling, which `accel-add-optimizer` then adds as
    `torch.amp.GradScaler` does (its `loss-scale` option). `dtype=no` (the
    default) changes nothing.
    In `accel-make-train-step`, `mixed-precision=bf16` is this option (the
    name Accelerate gives it).
  }];
  let options = [
    Option<"dtype", "dtype", "::accel::LowPrecisionType",
           /*default=*/"::accel::LowPrecisionType::None",
           "The low-precision type of the policy's ops",
           [{::llvm::cl::values(
             clEnumValN(::accel::LowPrecisionType::None, "no",
                        "fp32 throughout (Accelerate's mixed_precision=\"no\")"),
             clEnumValN(::accel::LowPrecisionType::BF16, "bf16",
                        "bfloat16: fp32's range, no loss scaling"),
             clEnumValN(::accel::LowPrecisionType::FP16, "fp16",
                        "float16 with dynamic loss scaling"))}]>,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def StoreWeightsPass : Pass<"accel-store-weights", "mlir::ModuleOp"> {
  let summary = "Stores an inference model's parameters in bf16 or fp16 and runs its GEMMs in that type";
  let description = [{
    Inference in low precision, e.g. after training with
    `mixed-precision=bf16`: every function runs the ops of the mixed
    precision policy (`PrecisionPolicy.cpp`: `linear`, `matmul`, the fused
    head) in `dtype`, as `accel-mixed-precision` does, and each fp32
    parameter (`accel.param`) becomes an argument of that type: half the
    memory of fp32 weights, read by the GEMMs without a cast. Ops outside
    the policy read a parameter widened to fp32 once (a layer norm's scale,
    an embedding table), so they compute in fp32 as under the policy.
    Buffers (`accel.buffer`) stay fp32. The runtime rounds an fp32 weights
    file's tensors to the stored type as it loads them (a bf16 file binds as
    it is). `accel-run --weights-dtype bf16` runs this pass on a .mlir model
    before compiling it.

    ```mlir
    // accel-opt --accel-store-weights="dtype=bf16"
    func.func @main(%x: tensor<8x64xf32> {accel.input = "x"},
                    %w: tensor<32x64xbf16> {accel.param = "fc.weight"}) -> ... {
      %xb = accel.cast %x : (tensor<8x64xf32>) -> tensor<8x64xbf16>
      %yb = accel.linear %xb, %w : (tensor<8x64xbf16>, tensor<32x64xbf16>) -> tensor<8x32xbf16>
    ```
    A module with `@train_step` is refused: training keeps fp32 master
    weights.
  }];
  let options = [
    Option<"dtype", "dtype", "::accel::LowPrecisionType",
           /*default=*/"::accel::LowPrecisionType::None",
           "The type the parameters are stored and the GEMMs run in",
           [{::llvm::cl::values(
             clEnumValN(::accel::LowPrecisionType::None, "no",
                        "fp32 weights (nothing changes)"),
             clEnumValN(::accel::LowPrecisionType::BF16, "bf16", "bfloat16"),
             clEnumValN(::accel::LowPrecisionType::FP16, "fp16", "float16"))}]>,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def AddGradientsPass : Pass<"accel-add-gradients", "mlir::ModuleOp"> {
  let summary = "Differentiates the training step's loss with respect to its trained parameters";
  let description = [{
    Turns `@train_step` from the loss form into the *gradient form*: a new
    last argument `{accel.input = "loss.grad"}` is the loss's cotangent and
    one result per trained parameter (every floating-point `accel.param`
    not `accel.frozen`), marked `{accel.grad = "<param>"}`, is its
    gradient, built by the reverse sweep (each op's
    `DifferentiableOpInterface` rule, in reverse order).

    The cotangent stays an argument so that what comes later decides it:
    `accel-accumulate-gradients` scales it per micro-batch, a loss scale
    would multiply it, and `accel-add-optimizer` makes it 1.

    ```mlir
    // accel-opt --accel-build-loss --accel-add-gradients
    func.func @train_step(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
                          %step: ..., %x: ..., %y: ...,
                          %dloss: tensor<f32> {accel.input = "loss.grad"})
        -> (tensor<f32> {accel.output = "loss"},
            tensor<3x4xf32> {accel.grad = "fc.weight"}) {
      %logits = accel.linear %x, %w ...
      %loss = accel.cross_entropy %logits, %y ...
      %dlogits = accel.cross_entropy_grad %logits, %y, %dloss ...
      %dw = accel.matmul %dlogits, %x {transpose_lhs} ...
      return %loss, %dw : tensor<f32>, tensor<3x4xf32>
    }
    ```
    Fails, naming the op, when an op on the path has no gradient rule.
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def RecomputePass : Pass<"accel-recompute", "mlir::ModuleOp"> {
  let summary = "Recomputes each block's activations in the backward pass instead of keeping them";
  let description = [{
    Activation recomputation (checkpointing) on the gradient form of
    `@train_step`. A *block* is an item of a module list, as the importer
    records the module each op was traced in (`transformer.h.3`,
    `model.layers.3`: the unit Megatron-LM and `torch.utils.checkpoint`
    wrappers recompute). A block keeps its inputs and outputs (the values
    crossing its boundary) and what does not depend on the batch (weights'
    casts and transposes); the other values its backward pass reads are
    computed again from those, just before the first backward op that reads
    them, so the forward pass's copies die when the forward pass is done
    with them and the buffer planner reuses their bytes.

    - `mode=full`: everything the backward pass reads is recomputed from
      the block's input (one more forward pass of each block).
    - `mode=selective`: the results of the costly ops (`linear`, `matmul`,
      `attention`, the fused LM head) are kept too; the cheap ops between
      them (norms, activations, dropout, residual sums, casts) are
      recomputed: most of the memory for a few percent of the time.
    - `mode=budget` with `budget=<bytes>`: each block gets none, selective
      or full so that the activations the blocks keep for the backward
      pass fit in the budget with the fewest FLOPs recomputed (like
      torchtitan's memory budget). The choice is exact (a multiple-choice
      knapsack, solved over the blocks keeping the Pareto frontier of
      kept bytes and FLOPs); a budget that even full recomputation misses
      is a warning, and each block keeps the least it can. The choice is
      recorded on the step as `accel.recompute_plan` (block -> mode) with
      `kept_bytes` and `recomputed_flops`.
    - `mode=none` (the default) changes nothing.

    The clones are the same ops on the same operands, and dropout's mask is
    a function of its seed, the step and the position, so losses and
    parameters are bitwise those without recomputation. Ops outside blocks
    (embeddings, the final norm, the head) are not recomputed. In
    `accel-make-train-step`, `recompute=` is this option.

    ```mlir
    // %h = accel.layer_norm %x ...  (block "h.0", forward)
    // %y = accel.linear %h, %w ...
    // ... backward, after --accel-recompute="mode=full":
    %h2 = accel.layer_norm %x ...    // again, from the kept block input
    %dw = accel.matmul %dy, %h2 {transpose_lhs} ...
    ```
  }];
  let options = [
    Option<"mode", "mode", "::accel::RecomputeMode",
           /*default=*/"::accel::RecomputeMode::None",
           "What to recompute",
           [{::llvm::cl::values(
             clEnumValN(::accel::RecomputeMode::None, "none",
                        "keep every activation"),
             clEnumValN(::accel::RecomputeMode::Full, "full",
                        "recompute each block from its input"),
             clEnumValN(::accel::RecomputeMode::Selective, "selective",
                        "keep GEMM and attention results, recompute the rest"),
             clEnumValN(::accel::RecomputeMode::Budget, "budget",
                        "per block, the least recomputation whose kept "
                        "activations fit in budget= bytes"))}]>,
    Option<"budget", "budget", "int64_t", /*default=*/"-1",
           "With mode=budget: the bytes of activations the blocks may keep for the backward pass">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def AccumulateGradientsPass : Pass<"accel-accumulate-gradients", "mlir::ModuleOp"> {
  let summary = "Splits the training step's batch into micro-batches whose gradients add up";
  let description = [{
    Gradient accumulation (`gradient_accumulation_steps` in Accelerate and
    transformers) on the gradient form of `@train_step`: the step takes
    `accumulate` times the batch, and computes the forward and backward
    pass of one micro-batch after the other, adding each one's gradients
    (in the gradient's type: fp32 for fp32 and mixed-precision models)
    into the sum the optimizer then takes once. Only one micro-batch's
    activations are alive at a time (the buffer planner reuses them), so
    memory is that of the small batch, and a data-parallel layout reduces
    the summed gradients once per step.

    Micro-batch `k` of `N` holds the samples `k, N + k, 2N + k, ...` of the
    step's batch: each rank's contiguous block of a batch split over ranks
    then holds its part of every micro-batch. Dropout in micro-batch `k`
    of step `s` draws the mask of step `s * N + k`.

    The loss and gradients equal those of the whole batch in one pass. With
    `normalization=global` (the default) a cross-entropy's mean is over the
    counted (not ignored) positions of all `N` micro-batches: each
    micro-batch divides its sum by that total count (`count` of
    `accel.cross_entropy`), as transformers does since 4.46; with
    `normalization=per-micro-batch` each micro-batch takes its own mean
    and the step the mean of those (Accelerate's `accumulate()` with a
    mean loss; differs when micro-batches count different numbers of
    positions). A loss without ignored positions (`mse`) is the same
    either way.

    ```mlir
    // accel-opt --accel-accumulate-gradients="accumulate=2": x is 2x the batch
    %xs = accel.reshape %x : (tensor<8x4xf32>) -> tensor<4x2x4xf32>
    %x0 = accel.slice %xs ... // samples 0, 2, 4, 6
    ... forward and backward of micro-batch 0 ...
    %x1 = accel.slice %xs ... // samples 1, 3, 5, 7
    ... forward and backward of micro-batch 1 ...
    %dw = accel.add %dw0, %dw1 ...
    ```
  }];
  let options = [
    Option<"accumulate", "accumulate", "int64_t", /*default=*/"1",
           "Micro-batches per optimizer step (1: no accumulation)">,
    Option<"normalization", "normalization", "::accel::LossNormalization",
           /*default=*/"::accel::LossNormalization::Global",
           "What a cross-entropy's mean is over",
           [{::llvm::cl::values(
             clEnumValN(::accel::LossNormalization::Global, "global",
                        "all counted positions of the step's micro-batches"),
             clEnumValN(::accel::LossNormalization::PerMicroBatch,
                        "per-micro-batch",
                        "the mean of each micro-batch's mean"))}]>,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def AddOptimizerPass : Pass<"accel-add-optimizer", "mlir::ModuleOp"> {
  let summary = "Completes the training step: gradient norm, clipping, schedule and optimizer updates";
  let description = [{
    Turns the gradient form of `@train_step` into the step the runtime
    runs:

    `@train_step(params..., states..., %step, inputs..., %labels)
      -> (loss, lr, grad_norm, nonfinite|found_inf, new params..., new states...)`

    The loss's cotangent becomes 1; then the global gradient norm,
    optional clipping, the scheduled learning rate of `step` (steps taken
    before this one) and one optimizer update per trained parameter.

    Optimizer state is named after its parameter as in `torch.optim` state
    dicts (`{accel.state = "<param>.exp_avg"}`, `.exp_avg_sq`,
    `.momentum_buffer`) and starts at zero; each new parameter or state is
    a result marked `{accel.update = "<name>"}`.

    Semantics are PyTorch's: `adamw` and `sgd` are `torch.optim.AdamW` and
    `torch.optim.SGD`; `clip-norm` is `clip_grad_norm_`; `schedule` is
    `transformers.get_scheduler`'s, at `step`. A step whose loss or gradient
    norm is not finite leaves parameters and state unchanged and says so in
    its `i1` output: `nonfinite`, on which the trainer stops, or with
    `skip-nonfinite`, `found_inf`, on which it goes on; a skipped step is not
    an optimizer step (as with AMP's GradScaler and HF's Trainer): the
    schedule, AdamW's bias correction and SGD's first step follow the count
    of applied updates, kept as optimizer state
    `{accel.state = "optimizer.applied_steps"}`.

    **Dynamic loss scaling** (`loss-scale=dynamic`, and by default on a
    step that computes in fp16) is `torch.amp.GradScaler`'s loop: the
    loss's cotangent is the scale (`scaler.scale(loss).backward()`), the
    gradients are multiplied by its fp32 reciprocal while each element is
    checked for inf/NaN (`accel.unscale_gradients`, `unscale_`), the norm
    and clipping see the unscaled gradients, a step that found one is
    skipped (`found_inf`, as with `skip-nonfinite`; the loss and the norm
    play no part, as in GradScaler), and `accel.update_loss_scale` sets the
    next scale (`update`). The scale (`init-scale`, 2^16 by default) and the
    growth tracker are optimizer state, `scaler.scale` and
    `scaler.growth_tracker`, saved in checkpoints; the scale after the
    step is also the output `loss_scale`. An fp16 step with
    `loss-scale=none` gets a warning: its small gradients flush to zero.

    The result is a plain function: later passes (sharding, memory
    planning) rewrite it like any other.

    After `--accel-make-train-step="optimizer=adamw clip-norm=1.0"`
    (abridged):
    ```mlir
    func.func @train_step(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
                          %m: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg"},
                          %v: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg_sq"},
                          %step: tensor<i64> {accel.input = "step"},
                          %x: tensor<2x4xf32> {accel.input = "x"},
                          %y: tensor<2xi64> {accel.input = "labels"})
        -> (tensor<f32> {accel.output = "loss"}, tensor<f64> {accel.output = "lr"},
            tensor<f32> {accel.output = "grad_norm"},
            tensor<i1> {accel.output = "nonfinite"},
            tensor<3x4xf32> {accel.update = "fc.weight"},
            tensor<3x4xf32> {accel.update = "fc.weight.exp_avg"},
            tensor<3x4xf32> {accel.update = "fc.weight.exp_avg_sq"}) {
      %logits = accel.linear %x, %w ...
      %loss = accel.cross_entropy %logits, %y ...
      %one = accel.constant dense<1.0> : tensor<f32>
      %dlogits = accel.cross_entropy_grad %logits, %y, %one ...
      %dw = accel.matmul %dlogits, %x {transpose_lhs} ...
      %norm = accel.global_norm %dw ...
      %scale = ...                       // min(1 / (norm + 1e-6) * 1.0, 1.0)
      %lr = accel.lr_schedule %step {schedule = #accel<lr_schedule constant>, lr = 1.0e-03 : f64} ...
      %w1, %m1, %v1 = accel.adamw %w, %dw, %m, %v, %lr, %step, %scale, %stop {...}
      return %loss, %lr, %norm, %stop, %w1, %m1, %v1 ...
    }
    ```
  }];
  let options = [
    Option<"optimizer", "optimizer", "::accel::OptimizerKind",
           /*default=*/"::accel::OptimizerKind::AdamW", "The optimizer",
           [{::llvm::cl::values(
             clEnumValN(::accel::OptimizerKind::AdamW, "adamw",
                        "torch.optim.AdamW"),
             clEnumValN(::accel::OptimizerKind::Sgd, "sgd",
                        "torch.optim.SGD"))}]>,
    Option<"lr", "lr", "double", /*default=*/"1e-3", "Peak learning rate">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "Weight decay (decoupled for adamw, L2 for sgd)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW beta2">,
    Option<"epsilon", "eps", "double", /*default=*/"1e-8", "AdamW epsilon">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0", "SGD momentum">,
    Option<"dampening", "dampening", "double", /*default=*/"0.0",
           "SGD dampening">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false",
           "SGD Nesterov momentum">,
    Option<"clipNorm", "clip-norm", "double", /*default=*/"0.0",
           "Clip gradients to this global 2-norm (0: no clipping)">,
    Option<"schedule", "schedule", "::accel::LrSchedule",
           /*default=*/"::accel::LrSchedule::Constant",
           "The learning-rate schedule (transformers.get_scheduler's)",
           [{::llvm::cl::values(
             clEnumValN(::accel::LrSchedule::Constant, "constant", "lr"),
             clEnumValN(::accel::LrSchedule::ConstantWithWarmup,
                        "constant_with_warmup", "linear warm-up, then lr"),
             clEnumValN(::accel::LrSchedule::Linear, "linear",
                        "warm-up, then linear decay to 0 at total-steps"),
             clEnumValN(::accel::LrSchedule::Cosine, "cosine",
                        "warm-up, then cosine decay over total-steps"))}]>,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "Linear warm-up steps">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "Steps over which linear and cosine schedules decay">,
    Option<"numCycles", "num-cycles", "double", /*default=*/"0.5",
           "Cosine schedule: number of cycles">,
    Option<"skipNonfinite", "skip-nonfinite", "bool", /*default=*/"false",
           "Skip updates whose loss or gradient norm is NaN or infinite">,
    Option<"lossScale", "loss-scale", "::accel::LossScaling",
           /*default=*/"::accel::LossScaling::Auto",
           "Dynamic loss scaling, as torch.amp.GradScaler",
           [{::llvm::cl::values(
             clEnumValN(::accel::LossScaling::Auto, "auto",
                        "dynamic when the step computes in fp16"),
             clEnumValN(::accel::LossScaling::Dynamic, "dynamic",
                        "always (GradScaler(enabled=True))"),
             clEnumValN(::accel::LossScaling::None, "none",
                        "never (a warning on an fp16 step)"))}]>,
    Option<"initScale", "init-scale", "double", /*default=*/"65536.0",
           "GradScaler's init_scale">,
    Option<"growthFactor", "growth-factor", "double", /*default=*/"2.0",
           "GradScaler's growth_factor">,
    Option<"backoffFactor", "backoff-factor", "double", /*default=*/"0.5",
           "GradScaler's backoff_factor">,
    Option<"growthInterval", "growth-interval", "int64_t",
           /*default=*/"2000", "GradScaler's growth_interval">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

#endif // ACCEL_PASSES_TRAINING_PASSES
