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

def MakeTrainStepPass : Pass<"accel-make-train-step", "mlir::ModuleOp"> {
  let summary = "Builds the training step (loss, gradients, optimizer) of a model function";
  let description = [{
    From a forward function (`function`, or the module's only one) adds

    * `@train_step(params..., states..., %step, inputs..., %labels)
      -> (loss, lr, grad_norm[, found_inf], new params..., new states...)`:
      the forward computation, the loss against `labels`, its reverse-mode
      gradient (each op's `DifferentiableOpInterface` rule), the global
      gradient norm, optional clipping, the scheduled learning rate of
      `step` (steps taken before this one) and one optimizer update per
      parameter;
    * `@eval_step(params..., inputs..., %labels) -> loss`.

    Every floating-point `accel.param` is trained unless `freeze` or
    `trainable` say otherwise; buffers (`accel.buffer`) never are. Both take
    comma-separated regular expressions searched in parameter names (as
    `re.search` does): `trainable` keeps only the matching parameters,
    `freeze` then removes the matching ones, like setting `requires_grad =
    False` on a backbone. Each expression must match a parameter. Frozen
    parameters stay arguments of `@train_step` (loaded and saved with the
    model) without a gradient or an update. `report-trainable` prints, as a
    remark, how many parameters train and their size. An import that could
    not tell parameters from other weights (`accel.unrecorded_parameters`)
    needs `trainable`; one whose export changed its parameters
    (`accel.untrainable`) is refused with the importer's reason.

    Optimizer state is named
    after its parameter as in `torch.optim` state dicts
    (`{accel.state = "<param>.exp_avg"}`, `.exp_avg_sq`, `.momentum_buffer`)
    and starts at zero; each new parameter or state is a result marked
    `{accel.update = "<name>"}`. The forward function stays as it was.

    When the logits come from a bias-free `accel.linear` (a language-model
    head) the training step computes head and loss with
    `accel.linear_cross_entropy`, block by block, so the `[..., vocab]`
    logits never exist whole (`fuse-lm-head=false` keeps them).

    Semantics are PyTorch's: `cross-entropy` is
    `F.cross_entropy(logits.flatten(0, -2), labels.flatten())` on logits
    `[..., C]` and int64 labels shaped like the leading dims; `mse` is
    `F.mse_loss(output, labels)`. `adamw` and `sgd` are `torch.optim.AdamW`
    and `torch.optim.SGD`; `clip-norm` is `clip_grad_norm_`; `schedule` is
    `transformers.get_scheduler`'s, at `step`. A step whose loss or gradient
    norm is not finite leaves parameters and state unchanged and says so in
    its `i1` output: `nonfinite`, on which the trainer stops, or with
    `skip-nonfinite`, `found_inf`, on which it goes on; a skipped step is not
    an optimizer step (as with AMP's GradScaler and HF's Trainer): the
    schedule, AdamW's bias correction and SGD's first step follow the count
    of applied updates, kept as optimizer state
    `{accel.state = "optimizer.applied_steps"}`.

    The result is a plain function: later passes (sharding, precision,
    accumulation, recomputation) rewrite it like any other.

    Before:
    ```mlir
    func.func @mlp(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
                   %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32> {
      %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
      return %0 : tensor<2x3xf32>
    }
    ```
    After `--accel-make-train-step="optimizer=adamw clip-norm=1.0"` (added,
    abridged):
    ```mlir
    func.func @train_step(%w: tensor<3x4xf32> {accel.param = "fc.weight"},
                          %m: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg"},
                          %v: tensor<3x4xf32> {accel.state = "fc.weight.exp_avg_sq"},
                          %step: tensor<i64> {accel.input = "step"},
                          %x: tensor<2x4xf32> {accel.input = "x"},
                          %y: tensor<2xi64> {accel.input = "labels"})
        -> (tensor<f32> {accel.output = "loss"}, tensor<f64> {accel.output = "lr"},
            tensor<f32> {accel.output = "grad_norm"},
            tensor<3x4xf32> {accel.update = "fc.weight"},
            tensor<3x4xf32> {accel.update = "fc.weight.exp_avg"},
            tensor<3x4xf32> {accel.update = "fc.weight.exp_avg_sq"})
        attributes {accel.metadata = {num_classes = 3 : i64}} {
      %logits = accel.linear %x, %w ...
      %loss = accel.cross_entropy %logits, %y ...
      %dlogits = accel.cross_entropy_grad %logits, %y, %one ...
      %dw = accel.matmul %dlogits, %x {transpose_lhs} ...
      %norm = accel.global_norm %dw ...
      %scale = ...                       // min(1 / (norm + 1e-6) * 1.0, 1.0)
      %lr = accel.lr_schedule %step {schedule = #accel<lr_schedule constant>, lr = 1.0e-03 : f64} ...
      %w1, %m1, %v1 = accel.adamw %w, %dw, %m, %v, %lr, %step, %scale {...}
      return %loss, %lr, %norm, %w1, %m1, %v1 ...
    }
    func.func @eval_step(%w: ..., %x: ..., %y: ...) -> (tensor<f32> {accel.output = "loss"})
    ```
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "The forward function (default: the module's only function)">,
    Option<"loss", "loss", "std::string", /*default=*/"\"cross-entropy\"",
           "cross-entropy or mse">,
    Option<"ignoreIndex", "ignore-index", "int64_t", /*default=*/"-100",
           "Cross-entropy: the label value that does not count">,
    Option<"labelSmoothing", "label-smoothing", "double", /*default=*/"0.0",
           "Cross-entropy: label smoothing in [0, 1]">,
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"adamw\"",
           "adamw or sgd">,
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
    Option<"schedule", "schedule", "std::string", /*default=*/"\"constant\"",
           "constant, constant_with_warmup, linear or cosine">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "Linear warm-up steps">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "Steps over which linear and cosine schedules decay">,
    Option<"numCycles", "num-cycles", "double", /*default=*/"0.5",
           "Cosine schedule: number of cycles">,
    Option<"skipNonfinite", "skip-nonfinite", "bool", /*default=*/"false",
           "Skip updates whose loss or gradient norm is NaN or infinite">,
    ListOption<"trainable", "trainable", "std::string",
               "Train only parameters whose names match one of these regexes">,
    ListOption<"freeze", "freeze", "std::string",
               "Do not train parameters whose names match one of these "
               "regexes">,
    Option<"reportTrainable", "report-trainable", "bool", /*default=*/"false",
           "Report what trains (count, elements, bytes) as a remark">,
    Option<"fuseLmHead", "fuse-lm-head", "bool", /*default=*/"true",
           "Fuse a bias-free linear head with cross-entropy "
           "(accel.linear_cross_entropy): the logits are never held whole">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

#endif // ACCEL_PASSES_TRAINING_PASSES
