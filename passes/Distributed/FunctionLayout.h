//===- FunctionLayout.h - A layout written into one function ----*- C++ -*-===//
//
// What accel-shard writes into each function before upstream's
// propagation and partition run: the grid's axes, and upstream `shard`
// annotations saying how every argument is stored, how ops read the
// parameters, what the updates work on and how results leave.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_DISTRIBUTED_FUNCTION_LAYOUT_H
#define ACCEL_PASSES_DISTRIBUTED_FUNCTION_LAYOUT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace accel {

/// The symbol of the grid accel-shard adds to a module.
inline constexpr llvm::StringLiteral kGridSymbol = "grid";

/// A layout: ranks along dp (the batch; ZeRO's stage over them), along tp
/// (Megatron's plan, and sequence parallelism).
struct LayoutOptions {
  int64_t dp = 1, tp = 1, zero = 0;
  bool sp = false;
};

/// Annotates `func` with `options` on the grid @grid, whose axes are dp
/// and tp in that order, each present when it has more than one rank; and
/// records the grid in the function's metadata. Fails with an error naming
/// the tensor when a layout cannot hold (a dim that does not divide).
mlir::LogicalResult annotateLayout(mlir::func::FuncOp func,
                                   const LayoutOptions &options);

/// Splits each fused projection of `func` into its parts
/// (FusedProjections.cpp): `split(linear(x, W, b))` along the features
/// becomes one linear per part on a slice of W (and b). Returns each
/// slice with the dim tp splits it along.
mlir::FailureOr<llvm::SmallVector<std::pair<mlir::Value, int64_t>>>
splitFusedProjections(mlir::func::FuncOp func, int64_t tp);

} // namespace accel

#endif // ACCEL_PASSES_DISTRIBUTED_FUNCTION_LAYOUT_H
