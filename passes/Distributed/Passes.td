//===- Passes.td - Passes that distribute a step over ranks ---*- tablegen -*-===//
#ifndef ACCEL_PASSES_DISTRIBUTED_PASSES
#define ACCEL_PASSES_DISTRIBUTED_PASSES

include "mlir/Pass/PassBase.td"

def ShardPass : Pass<"accel-shard", "mlir::ModuleOp"> {
  let summary = "Splits every function of a module over a grid of ranks";
  let description = [{
    Data parallelism (`dp=N`) as annotations from MLIR's `shard` dialect,
    split by upstream's own passes:

    1. a grid `@grid` of `N` ranks along the axis `dp`;
    2. every function's batch inputs (`accel.input` arguments) split along
       dim 0 over `dp`; parameters, optimizer state and scalars replicated;
       tensor results replicated;
    3. upstream `sharding-propagation{traversal=forward-backward}` and
       `shard-partition`, through accel's `ShardingInterface` models: each
       rank computes on its rows, a weight gradient (summed over rows)
       gets one all-reduce, and a loss is the mean over every rank's
       counted positions (so ignored labels weigh as in one process);
    4. the partitioned functions are checked (no annotation left, every
       collective one accel can run) and upstream's collectives become
       accel's (`accel-lower-collectives`);
    5. gradient all-reduces are bucketed and made asynchronous
       (`accel-bucket-collectives`), so they overlap the backward pass.

    `zero=1|2|3` adds ZeRO over `dp`: the optimizer state (1), and the
    gradients (2), and the parameters (3, FSDP) are stored split along dim
    0 (a tensor whose dim 0 does not divide stays whole). Gradients are
    produced whole and used split, which partitions to an all-reduce and a
    slice, fused into `accel.reduce_scatter`; each rank updates its rows
    and the updated parameters are gathered (1, 2) or stay split (3). The
    gradient norm adds each rank's sum of squares. Stage 2 completes each
    gradient bucket before the next (`wait-early`); stage 3 gathers a
    parameter before each op that reads it (`accel-gather-before-use`).

    `tp=M` adds Megatron's tensor parallelism on a second axis `tp` (the
    grid is `dp x tp`, or `tp` alone): parameters split as transformers'
    `base_model_tp_plan` names them. Projections into heads and the MLP's
    up projections (`q_proj`, `k_proj`, `v_proj`, `gate_proj`, `up_proj`,
    `c_fc`, `fc1`, ...) split their output features, with their biases
    (column parallel); the attention output and the MLP's down projection
    (`o_proj`, `down_proj`, `c_proj`, `fc2`, ...) their input features
    (row parallel: a partial product, an all-reduce over `tp`, the bias
    once); the embedding table (`embed_tokens`, `wte`) and the head
    (`lm_head`) their vocabulary, when it divides (an odd one stays whole).
    Which dim that is follows from the weight's first use (`linear` stores
    `[out, in]`, GPT-2's Conv1D `[in, out]`). Attention then runs on each
    rank's heads (grouped key/value heads split with them). Upstream
    propagation carries the rest; where an op works along a split dim (an
    export that merges heads into the batch, say) the operand is gathered
    first. ZeRO composes: state split over `dp` along a dim `tp` does not
    split. A tensor the plan splits whose dim does not divide is an error
    naming it, the dim and the axis size. GPT-2's fused `c_attn` (q|k|v
    side by side, so a block of it is not a block of heads) splits per
    part: each part becomes a projection of its own on a slice of the
    weight, which stays stored whole, and each rank computes its block of
    q, of k and of v. `sp=true` adds sequence parallelism (norms and
    residual adds on a block of the sequence; an all-gather before each
    column-parallel projection, a reduce-scatter after each row-parallel
    one).

    A bf16 (`mixed-precision=bf16`) step shards as its fp32 one, with no
    sum over ranks in bf16: a split contraction makes fp32 partial sums,
    reduced in fp32 and rounded once after its bias; a parameter's gradient
    is the fp32 sum itself (DDP's); ZeRO-3 gathers the bf16 cast of each
    block (FSDP's `param_dtype`); the plan reads parameters through their
    casts. A loss-scaled (fp16) step shards too: each rank checks its own
    blocks of the scaled gradients for inf/NaN and `found_inf` is agreed
    over the axes that split any gradient (a max all-reduce) before the
    update, so every rank skips the same steps and keeps the same scale;
    under dp each rank's scaled gradients are computed over its rows, as
    DDP's are.

    Each function records its grid as metadata (`grid_axes`, `grid_shape`)
    and each split argument its axes per dim (`accel.split = ["dp", ""]`)
    for the runtime and for `accel-report-layout`; which builds one communicator per axis and gives each
    dp rank its block of every global batch. A batch that does not divide
    by `N` is an error naming the input, its dim and the axis size; so is
    an op that cannot be split as asked (e.g. a dropout mask).

    ```mlir
    // accel-opt --accel-shard="dp=2": on each rank, half the batch
    func.func @train_step(%w: tensor<8x4xf32> {accel.param = "w"}, ...,
                          %x: tensor<2x4xf32> {accel.input = "x"}, ...)
      %dw = accel.matmul %dy, %x {transpose_lhs} ...
      %g = accel.all_reduce %dw {group = "dp", reduction = #accel<reduction sum>} ...
    ```
  }];
  let options = [
    Option<"dp", "dp", "int64_t", /*default=*/"1",
           "Ranks that split the batch (data parallelism)">,
    Option<"zero", "zero", "int64_t", /*default=*/"0",
           "ZeRO stage over dp: 1 shards optimizer state, 2 gradients too, "
           "3 parameters too (FSDP)">,
    Option<"tp", "tp", "int64_t", /*default=*/"1",
           "Ranks that split each block's heads and hidden features "
           "(Megatron tensor parallelism)">,
    Option<"sp", "sp", "bool", /*default=*/"false",
           "Sequence parallelism: between the tensor-parallel blocks, "
           "activations split along the sequence over tp">,
    Option<"bucketMb", "bucket-mb", "double", /*default=*/"25.0",
           "Gradient all-reduce bucket size in MB (accel-bucket-collectives)">,
  ];
  let dependentDialects = ["::accel::AccelDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LowerCollectivesPass : Pass<"accel-lower-collectives", "mlir::func::FuncOp"> {
  let summary = "Turns upstream shard collectives into accel's runtime collectives";
  let description = [{
    `shard.all_reduce` becomes `accel.all_reduce` and `shard.all_gather`
    (along dim 0) `accel.all_gather`, on the group named by the grid axes
    they run over (the grid's `accel.axes` names, joined by commas: "dp",
    "tp", "dp,tp"); `shard.all_slice` becomes `accel.all_slice` (each rank
    keeps its block; of a splat constant, the splat at the local shape). Any other `shard` op left in a function, or a
    gather along another dim, is an error naming it: the executable must
    not hold an op the runtime cannot run.
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def GatherBeforeUsePass : Pass<"accel-gather-before-use", "mlir::func::FuncOp"> {
  let summary = "Gathers each split parameter just before each op that uses it (ZeRO-3)";
  let description = [{
    Under ZeRO-3 (FSDP) a parameter is stored split over the ranks.
    Upstream's partition gathers each split argument once, at the top of
    the function; the whole copy then lives until its last backward use.
    This pass gives every op that reads it its own `accel.all_gather`,
    placed just before it, so that a whole parameter is held across one op
    only: gathered for the forward use and again for the backward ones, as
    FSDP does.

    ```mlir
    %w = accel.all_gather %w_shard {group = "dp"} : (tensor<16x8xf32>) -> tensor<32x8xf32>
    %y = accel.linear %x, %w ...
    ... // the rest of the forward pass, and the backward pass up to:
    %w2 = accel.all_gather %w_shard {group = "dp"} : (tensor<16x8xf32>) -> tensor<32x8xf32>
    %dx = accel.linear %dy, %w2 {weight_in_out} ...
    ```

    With `prefetch` (the default), the gathers are asynchronous: those of
    each reader start just before the previous reader runs
    (`accel.all_gather_start`) and complete just before their own
    (`accel.wait`), as FSDP prefetches the next block's parameters; at most
    two readers' parameters are whole at once.
  }];
  let options = [
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "Start each reader's gathers while the previous reader runs">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def BucketCollectivesPass : Pass<"accel-bucket-collectives", "mlir::func::FuncOp"> {
  let summary = "Groups all-reduces into buckets that overlap the computation after them";
  let description = [{
    What DDP's reducer does at run time, as IR: the all-reduces of tensors
    (the gradients of a data-parallel step), in the order their operands
    are computed, are grouped into buckets of about `bucket-mb` megabytes
    (DDP's `bucket_cap_mb`, 25 by default) with the same group, reduction
    and element type. Each bucket's tensors are flattened into one buffer
    as soon as its last one is computed, `accel.all_reduce_start` sends it,
    and `accel.wait` completes it just before the first use of any of them
    (for a training step: the gradient norm, after the whole backward
    pass), so the communication runs while the rest of the backward pass
    computes. `bucket-mb=0` starts each all-reduce on its own, without the
    copies into a bucket. Scalars (a loss, a token count) stay synchronous.

    Before bucketing, a sum of two all-reduced values (on one group) is
    reduced once: `all_reduce(a) + all_reduce(b)` becomes
    `all_reduce(a + b)`, also when both reach the sum through the same
    linear ops (reshapes, scatter-adds at the same indices). A tied
    embedding's two gradient parts then cost one all-reduce, and so do the
    accumulated micro-batches of a step (`accel-accumulate-gradients`): a
    data-parallel step reduces its gradients once, whatever the number of
    micro-batches.

    ```mlir
    %flat0 = accel.reshape %dw1 ...   // last gradient of the bucket is ready
    %bucket = accel.concat %flat0, %flat1 {axis = 0 : i64} ...
    %h = accel.all_reduce_start %bucket {group = "dp", reduction = #accel<reduction sum>} ...
    ...                               // the rest of the backward pass
    %r = accel.wait %h ...
    %g:2 = accel.split %r {axis = 0 : i64} ...
    ```
  }];
  let options = [
    Option<"bucketMb", "bucket-mb", "double", /*default=*/"25.0",
           "Bucket size in MB (1 MB = 2^20 bytes); 0: one per all-reduce">,
    Option<"waitEarly", "wait-early", "bool", /*default=*/"false",
           "Complete each bucket before the next is packed (ZeRO-2: at most "
           "one bucket of whole gradients held)">,
  ];
  let dependentDialects = ["::accel::AccelDialect"];
}

def ReportLayoutPass : Pass<"accel-report-layout", "mlir::ModuleOp"> {
  let summary = "Prints a function's layout: shardings, memory per rank, collectives";
  let description = [{
    For `function` (`train_step` by default) of a module `accel-shard` has
    split (or of one that runs in one process): each tensor argument's
    role, global and per-rank shape, split and bytes per rank; memory per
    rank for parameters, gradients, optimizer state and the arena that
    holds activations and temporaries (planned on a copy of the module, as
    the executable writer plans it); and the collectives of one step with
    their group, tensor, bytes and the bytes each rank sends (a ring
    all-reduce sends 2(p-1)/p of the tensor). `format=json` gives the same
    as JSON. Written to `output` (default: standard error, so the IR can
    still go to standard output).

    ```
    accel-opt train-dp2.mlir --accel-report-layout -o /dev/null
    @train_step on grid dp=2 (2 ranks)
    memory per rank: parameters 9.6 MiB, gradients 9.6 MiB (in the arena),
    optimizer state 19.3 MiB, arena 22.0 MiB
    collectives per step: ...
    ```
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"train_step\"",
           "The function to report on">,
    Option<"format", "format", "std::string", /*default=*/"\"text\"",
           "text or json">,
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the report ('-': standard error)">,
  ];
}

#endif // ACCEL_PASSES_DISTRIBUTED_PASSES
