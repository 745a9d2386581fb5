//===- AccelCollectiveOps.td - Communication between ranks ---*- tablegen -*-===//
//
// The collectives a distributed layout needs, on a named group of ranks (a
// grid axis: "dp", "tp"; "world" is every rank of the job). Each runs on
// the runtime's Communicator for that group. Tensors are split and joined
// along `axis` (dim 0 unless said); the group's size is known at run time,
// which checks it against the shapes.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_COLLECTIVE_OPS
#define ACCEL_DIALECT_ACCEL_COLLECTIVE_OPS

// Not Pure: every rank must run the same collectives in the same order, so
// no rewrite may merge (CSE), drop or move one. Two gathers of one shard
// before two users are two transfers on purpose (ZeRO-3).
class Accel_CollectiveOp<string mnemonic, list<Trait> traits = []>
    : Accel_Op<mnemonic, !listconcat(traits, [MemoryEffects<[MemWrite]>,
        DeclareOpInterfaceMethods<Accel_CostOpInterface>])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}
class Accel_InferredCollectiveOp<string mnemonic, list<Trait> traits = []>
    : Accel_CollectiveOp<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])>;

def Accel_AllReduceOp : Accel_InferredCollectiveOp<"all_reduce"> {
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

def Accel_AllReduceStartOp : Accel_InferredCollectiveOp<"all_reduce_start",
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

def Accel_ReduceScatterStartOp : Accel_CollectiveOp<"reduce_scatter_start"> {
  let summary = "Starts a reduce-scatter; `accel.wait` completes it";
  let description = [{
    `accel.reduce_scatter` in two halves, like `accel.all_reduce_start`.
    The collective reads the operand until it completes, so the wait names
    the operand too: the buffer stays allocated until then.

    ```mlir
    %h = accel.reduce_scatter_start %dw {group = "dp", reduction = #accel<reduction sum>} : (tensor<64x64xf32>) -> tensor<32x64xf32>
    ... // more of the backward pass
    %g = accel.wait %h, %dw : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       Accel_ReductionAttr:$reduction,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$axis);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_AllGatherStartOp : Accel_CollectiveOp<"all_gather_start"> {
  let summary = "Starts an all-gather; `accel.wait` completes it";
  let description = [{
    `accel.all_gather` in two halves: ZeRO-3 starts the gather of the next
    op's parameters while the current op computes (FSDP's prefetch). The
    wait names the operand, which the collective reads until it completes.

    ```mlir
    %h = accel.all_gather_start %w_shard {group = "dp"} : (tensor<32x64xf32>) -> tensor<64x64xf32>
    ... // the op before
    %w = accel.wait %h, %w_shard : (tensor<64x64xf32>, tensor<32x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$axis);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_WaitOp : Accel_InferredCollectiveOp<"wait",
    [DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Waits for a collective an `accel.*_start` op began";
  let description = [{
    The result is the completed collective, in the operand's buffer.
    `reads` are the tensors the collective reads while in flight (the
    operand of a `reduce_scatter_start` or `all_gather_start`; none for an
    in-place `all_reduce_start`): naming them keeps their buffers until
    the wait.
  }];
  let arguments = (ins Accel_NumericTensor:$operand,
                       Variadic<Accel_Tensor>:$reads);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_AllGatherOp : Accel_CollectiveOp<"all_gather"> {
  let summary = "Every rank's tensor, concatenated in rank order along `axis`";
  let description = [{
    The result's `axis` dim (0 by default) is the operand's times the
    group size.

    ```mlir
    %w = accel.all_gather %shard {group = "dp"} : (tensor<32x64xf32>) -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$axis);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_ReduceScatterOp : Accel_CollectiveOp<"reduce_scatter"> {
  let summary = "Block `rank` along `axis` of the reduction of all ranks' tensors";
  let description = [{
    The operand's `axis` dim (0 by default) is the result's times the
    group size.

    ```mlir
    %s = accel.reduce_scatter %dw {group = "dp", reduction = #accel<reduction sum>} : (tensor<64x64xf32>) -> tensor<32x64xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, StrAttr:$group,
                       Accel_ReductionAttr:$reduction,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntNonNegative]>, "0">:$axis);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

def Accel_GroupRankOp : Accel_CollectiveOp<"group_rank"> {
  let summary = "This rank's index in a group";
  let description = [{
    What an op split over ranks needs to know which part it holds: a
    vocabulary-parallel embedding's first row is the rank times its rows.

    ```mlir
    %r = accel.group_rank {group = "tp"} : () -> tensor<i64>
    ```
  }];
  let arguments = (ins StrAttr:$group);
  let results = (outs RankedTensorOf<[I64]>:$result);
}

def Accel_AllSliceOp : Accel_CollectiveOp<"all_slice"> {
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
