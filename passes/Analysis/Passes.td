//===- Passes.td - Analyses that report on accel IR -----------*- tablegen -*-===//
#ifndef ACCEL_PASSES_ANALYSIS_PASSES
#define ACCEL_PASSES_ANALYSIS_PASSES

include "mlir/Pass/PassBase.td"

def ReportCostPass : Pass<"accel-report-cost", "mlir::func::FuncOp"> {
  let summary = "Reports each op's FLOPs and bytes, and the function's totals";
  let description = [{
    Asks every op for its cost through `CostOpInterface` and attaches a
    remark with floating-point operations and bytes accessed; the function
    gets the totals. The planner's cost model reads the same interface.

    Before:
    ```mlir
    %y = accel.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    ```
    After (diagnostics):
    ```
    remark: 128 flops, 224 bytes
    remark: total 128 flops, 224 bytes in 1 ops
    ```
  }];
}

def EstimateMemoryPass : Pass<"accel-estimate-memory", "mlir::ModuleOp"> {
  let summary = "Predicts the memory a function holds while it runs, as a table and a picture";
  let description = [{
    What the runtime will allocate for a function (by default the training
    step), before it runs: its parameters, its optimizer state, and the
    arena at its peak, split into the activations kept for the backward
    pass (defined before the loss, read after it), the gradients (what the
    norm, the unscaling or the optimizer reads as one) and temporaries. The
    arena's tensors and their lifetimes are the buffer planner's
    (`accel-plan-buffers`: reshapes share bytes, in-place updates take
    none); the peak is the largest sum of tensors alive at one op, which the
    planner's placement reaches plus its fragmentation. Also given: the
    batch inputs (held by the data loader) and the largest workspace a
    kernel allocates for itself outside the arena (the fused LM head's
    logit blocks).

    The table goes to stderr; `svg=<file>` also draws memory over the
    function's ops (stacked by category, the loss marked). On a module
    sharded by `accel-shard` the shapes, and so the figures, are one
    rank's. Run it on the IR the runtime gets:
    `accel-opt train.mlir --accel-lower-to-runtime --accel-estimate-memory="svg=mem.svg" -o /dev/null`.

    ```
    memory estimate of @train_step
      parameters                                     1,234,560 bytes (     1.2 MiB)
      optimizer state                                2,469,120 bytes (     2.4 MiB)
      arena at its peak                              3,000,000 bytes (     2.9 MiB)
        activations kept for the backward pass       ...
    ```
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"train_step\"",
           "The function to estimate">,
    Option<"svg", "svg", "std::string", /*default=*/"\"\"",
           "Also write memory over the function's ops to this SVG file">,
  ];
}

#endif // ACCEL_PASSES_ANALYSIS_PASSES
