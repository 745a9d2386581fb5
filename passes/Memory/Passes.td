//===- Passes.td - Memory planning passes ---------------------*- tablegen -*-===//
#ifndef ACCEL_PASSES_MEMORY_PASSES
#define ACCEL_PASSES_MEMORY_PASSES

include "mlir/Pass/PassBase.td"

def PlanBuffersPass : Pass<"accel-plan-buffers", "mlir::func::FuncOp"> {
  let summary = "Assigns every temporary an arena offset, reusing dead buffers";
  let description = [{
    Plans where each intermediate tensor of a function lives while it runs.
    A tensor's buffer is live from the op that defines it to its last use
    (to the end for function results); buffers whose lifetimes do not overlap
    share bytes, at 64-byte aligned offsets in one arena. Two placements
    are made and the smaller arena kept: first fit in program order, and
    largest first, each at the lowest offset clear of the placed buffers
    whose lifetimes overlap it (TFLite's offline greedy placement), which
    reaches the sum of the tensors alive at the busiest op (the bound
    `accel-estimate-memory` reports) on training steps, within 1% on
    GPT-2's.
    `accel.reshape` results share their operand's bytes (no copy) and
    extend its lifetime; constants and function arguments need no arena.
    A training step's new parameters and optimizer state
    (`{accel.update = "name"}` results of an op implementing
    `InPlaceOpInterface`) are written over the argument they replace when
    nothing reads it afterwards: they take no arena bytes and no copy. Any
    other `InPlaceOpInterface` result (a cross-entropy gradient over its
    logits) likewise reuses its operand's buffer when that is read by
    nothing after the op.

    The plan is recorded as attributes that the executable writer reads:
    `accel.offsets` on each op (one entry per result, -1 where the result
    shares its operand's bytes) and `accel.arena_size` on the function.

    Before:
    ```mlir
    func.func @f(%x: tensor<4x4xf32> {accel.input = "x"}) -> tensor<16xf32> {
      %0 = accel.exp %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
      %1 = accel.tanh %0 : (tensor<4x4xf32>) -> tensor<4x4xf32>
      %2 = accel.exp %1 : (tensor<4x4xf32>) -> tensor<4x4xf32>
      %3 = accel.reshape %2 : (tensor<4x4xf32>) -> tensor<16xf32>
      return %3 : tensor<16xf32>
    }
    ```
    After (`%2` reuses `%0`'s bytes, dead once `%1` is computed):
    ```mlir
    func.func @f(...) -> tensor<16xf32> attributes {accel.arena_size = 128 : i64} {
      %0 = accel.exp %x {accel.offsets = array<i64: 0>} : ...
      %1 = accel.tanh %0 {accel.offsets = array<i64: 64>} : ...
      %2 = accel.exp %1 {accel.offsets = array<i64: 0>} : ...
      %3 = accel.reshape %2 {accel.offsets = array<i64: -1>} : ...
      return %3 : tensor<16xf32>
    }
    ```
    Fails, naming the value, when a tensor has a dynamic shape.
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def AccumulateInPlacePass : Pass<"accel-accumulate-in-place", "mlir::func::FuncOp"> {
  let summary = "Adds a scatter_add's slices into the tensor it is summed with";
  let description = [{
    `add(x, scatter_add(u, i))`, where nothing else reads the scatter,
    becomes `scatter_add(u, i, init = x)`: the slices are added into `x`
    (in place when nothing reads `x` afterwards, `InPlaceOpInterface`)
    instead of into a zeroed tensor that is then added to `x`. It is the
    gradient of a tied embedding (GPT-2's `wte`, read by the embedding and
    the LM head): the head's weight gradient plus the embedding's
    scatter_add, two vocabulary-sized tensors and their sum at the end of
    the backward pass, where a training step's memory peaks under
    recomputation. The sum is taken in another order (the slices into `x`
    rather than into zeros then `x`): equal within fp32 rounding, not
    bitwise. Part of `accel-lower-to-runtime`, after sharding.

    ```mlir
    %s = accel.scatter_add %u, %ids {axis = 0 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>) -> tensor<16x8xf32>
    %g = accel.add %dw, %s : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
    // becomes
    %g = accel.scatter_add %u, %ids, %dw {axis = 0 : i64} : (tensor<2x4x8xf32>, tensor<2x4xi64>, tensor<16x8xf32>) -> tensor<16x8xf32>
    ```
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

#endif // ACCEL_PASSES_MEMORY_PASSES
