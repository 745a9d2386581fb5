//===- BufferLiveness.h - Which tensors hold arena bytes, and when -*- C++
//-*-===//
//
// The liveness the buffer planner places and the memory estimate sums: in
// program order, which results own an arena buffer (reshapes share their
// operand's bytes, in-place ops may write over a dying operand, updated
// parameters and state over their argument), its size, and the last op
// that reads it.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_MEMORY_BUFFERLIVENESS_H
#define ACCEL_PASSES_MEMORY_BUFFERLIVENESS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include <limits>

namespace accel {

/// An arena buffer's lifetime: program-order index of the op that defines
/// it, and of its last reader (kForever for a function result).
struct BufferLifetime {
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
  int64_t size = 0; // bytes, 64-byte aligned
  int64_t first = 0;
  int64_t last = 0;
};

struct BufferLiveness {
  /// Each op's index in the function's block.
  llvm::DenseMap<mlir::Operation *, int64_t> order;
  /// The results that own an arena buffer. The others (reshapes, in-place
  /// results, constants) take none.
  llvm::DenseMap<mlir::Value, BufferLifetime> buffers;
};

/// Analyzes a single-block function with static shapes; fails with an error
/// on the op otherwise.
mlir::FailureOr<BufferLiveness> analyzeBufferLiveness(mlir::func::FuncOp func);

} // namespace accel

#endif // ACCEL_PASSES_MEMORY_BUFFERLIVENESS_H
