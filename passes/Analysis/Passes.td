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

#endif // ACCEL_PASSES_ANALYSIS_PASSES
