//===- TensorParallelPlan.h - Which parameters split over tp --*- C++ -*-===//
//
// Megatron's tensor-parallel layout of a transformer, stated by parameter
// name as transformers' `base_model_tp_plan` states it: the projections
// into heads and the MLP's up projections split by output features
// (column parallel), the attention output and the MLP's down projection by
// input features (row parallel), the embedding table and the head by
// vocabulary. Which dim that is follows from how the step uses the
// weight (`linear` stores [out, in], GPT-2's Conv1D [in, out]).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_DISTRIBUTED_TENSOR_PARALLEL_PLAN_H
#define ACCEL_PASSES_DISTRIBUTED_TENSOR_PARALLEL_PLAN_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/StringRef.h"

namespace accel {

enum class TensorParallelRole {
  Replicated,
  Column,
  Row,
  Vocabulary,
  /// Projections into q, k and v side by side (GPT-2's `c_attn`): column
  /// parallel per part, each part's block a block of heads.
  FusedColumn
};

/// The role of parameter `name` (e.g. "model.layers.0.mlp.up_proj.weight")
/// in Megatron's plan.
TensorParallelRole tensorParallelRole(llvm::StringRef name);

/// The dim of `param` (a function argument) that `role` splits, read from
/// the first op of the function that uses it (the forward pass's; through
/// a mixed-precision step's cast of it); -1
/// when the role splits none of its dims (a row-parallel bias) or no op
/// says which dim is which.
int64_t tensorParallelDim(mlir::Value param, llvm::StringRef name,
                          TensorParallelRole role);

llvm::StringRef roleName(TensorParallelRole role);

/// The parameter a weight operand reads: `v`, or what a mixed-precision
/// cast of it reads.
mlir::Value readParameter(mlir::Value v);

} // namespace accel

#endif // ACCEL_PASSES_DISTRIBUTED_TENSOR_PARALLEL_PLAN_H
