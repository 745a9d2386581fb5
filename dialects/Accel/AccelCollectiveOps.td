//===- AccelCollectiveOps.td - Communication between ranks ---*- tablegen -*-===//
//
// The collectives a distributed layout needs, on a named group of ranks (a
// grid axis: "dp", "tp"; "world" is every rank of the job). Each runs on
// the runtime's Communicator for that group. Tensors are split and joined
// along their first dim; the group's size is known at run time, which
// checks it against the shapes.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_COLLECTIVE_OPS
#define ACCEL_DIALECT_ACCEL_COLLECTIVE_OPS

def Accel_AllReduceOp : Accel_InferredOp<"all_reduce"> {
  let summary = "Every rank of the group gets the reduction of all ranks' tensors";
  let description = [{
    In a fixed order by rank, so reruns and every rank get the same bits.

    ```mlir
    %g = accel.all_reduce %dw {group = "dp", reduction = #accel<reduction sum>} : (tensor<64x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       Accel_ReductionAttr:$reduction);
  let results = (outs Accel_NumericTensor:$result);
}

def Accel_AllReduceStartOp : Accel_InferredOp<"all_reduce_start",
    [DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Starts an all-reduce; `accel.wait` completes it";
  let description = [{
    `accel.all_reduce` in two halves, so that the computation between them
    overlaps the communication: the result is the buffer the reduction
    lands in, and may be read only through the `accel.wait` of it. The
    result may be written over the operand's buffer.

    ```mlir
    %h = accel.all_reduce_start %dw {group = "dp", reduction = #accel<reduction sum>} : (tensor<64x64xf32>) -> tensor<64x64xf32>
    ... // more of the backward pass
    %g = accel.wait %h : (tensor<64x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       Accel_ReductionAttr:$reduction);
  let results = (outs Accel_NumericTensor:$result);
}

def Accel_WaitOp : Accel_InferredOp<"wait",
    [DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Waits for the collective `accel.all_reduce_start` began";
  let description = [{
    The result is the completed reduction, in the operand's buffer.
  }];
  let arguments = (ins Accel_NumericTensor:$operand);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_AllGatherOp : Accel_PureOp<"all_gather"> {
  let summary = "Every rank's tensor, concatenated in rank order along dim 0";
  let description = [{
    The result's first dim is the operand's times the group size.

    ```mlir
    %w = accel.all_gather %shard {group = "dp"} : (tensor<32x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_ReduceScatterOp : Accel_PureOp<"reduce_scatter"> {
  let summary = "Block `rank` along dim 0 of the reduction of all ranks' tensors";
  let description = [{
    The operand's first dim is the result's times the group size.

    ```mlir
    %s = accel.reduce_scatter %dw {group = "dp", reduction = #accel<reduction sum>} : (tensor<64x64xf32>) -> tensor<32x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       Accel_ReductionAttr:$reduction);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_AllSliceOp : Accel_PureOp<"all_slice"> {
  let summary = "Block `rank` along `axis` of a tensor every rank holds whole";
  let description = [{
    No communication: each rank of the group keeps its own block, the
    partition of a replicated value for users that take it split. The
    operand's `axis` dim is the result's times the group size.

    ```mlir
    %s = accel.all_slice %x {group = "dp", axis = 0 : i64} : (tensor<4x16xf32>) -> tensor<2x16xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand, StrAttr:$group,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis);
  let results = (outs Accel_Tensor:$result);
  let hasVerifier = 1;
}

#endif // ACCEL_DIALECT_ACCEL_COLLECTIVE_OPS
