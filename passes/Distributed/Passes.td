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
       accel's (`accel-lower-collectives`).

    Each function records its grid as metadata (`grid_axes`, `grid_shape`)
    for the runtime, which builds one communicator per axis and gives each
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

#endif // ACCEL_PASSES_DISTRIBUTED_PASSES
