//===- AccelCollectiveOps.cpp - Communication between ranks --------------===//
//
// Shape rules and costs of the ops in AccelCollectiveOps.td. A collective
// moves data rather than computing on it: its cost is zero flops (the
// communication model belongs to the planner).
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace accel;

/// `whole` is `part` with dim `axis` a multiple of part's: what one rank
/// holds before and after the collective.
static LogicalResult verifyBlocks(Operation *op, RankedTensorType whole,
                                  RankedTensorType part, StringRef wholeName,
                                  int64_t axis) {
  if (whole.getElementType() != part.getElementType())
    return op->emitOpError("operand and result element types differ");
  bool ok = whole.getRank() == part.getRank() && axis < whole.getRank();
  for (int64_t d = 0; ok && d < whole.getRank(); ++d)
    ok = d == axis ? part.getDimSize(d) > 0 &&
                         whole.getDimSize(d) % part.getDimSize(d) == 0
                   : whole.getDimSize(d) == part.getDimSize(d);
  if (!ok)
    return op->emitOpError("the ")
           << wholeName << " " << whole
           << " must be the other side's blocks along dim " << axis
           << ", not of " << part;
  return success();
}

LogicalResult AllReduceOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &out) {
  out.push_back(adaptor.getOperand().getType());
  return success();
}
int64_t AllReduceOp::getFlops() { return 0; }

LogicalResult AllReduceStartOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &out) {
  out.push_back(adaptor.getOperand().getType());
  return success();
}
int64_t AllReduceStartOp::getFlops() { return 0; }
Value AllReduceStartOp::getTiedOperand(unsigned) { return getOperand(); }

LogicalResult WaitOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &out) {
  out.push_back(adaptor.getOperand().getType());
  return success();
}
LogicalResult WaitOp::verify() {
  if (getOperand().getDefiningOp<AllReduceStartOp>() && getReads().empty())
    return success();
  Operation *start = getOperand().getDefiningOp();
  if (isa_and_nonnull<ReduceScatterStartOp, AllGatherStartOp>(start) &&
      getReads().size() == 1 && getReads().front() == start->getOperand(0))
    return success();
  return emitOpError("waits on a value no accel.all_reduce_start began (with "
                     "no reads) or no accel.reduce_scatter_start or "
                     "accel.all_gather_start began (with its operand as the "
                     "one read)");
}
int64_t WaitOp::getFlops() { return 0; }
Value WaitOp::getTiedOperand(unsigned) { return getOperand(); }

LogicalResult AllGatherOp::verify() {
  return verifyBlocks(*this, getType(), getOperand().getType(), "result",
                      getAxis());
}
int64_t AllGatherOp::getFlops() { return 0; }

LogicalResult AllGatherStartOp::verify() {
  return verifyBlocks(*this, getType(), getOperand().getType(), "result",
                      getAxis());
}
int64_t AllGatherStartOp::getFlops() { return 0; }

LogicalResult ReduceScatterOp::verify() {
  return verifyBlocks(*this, getOperand().getType(), getType(), "operand",
                      getAxis());
}
int64_t ReduceScatterOp::getFlops() { return 0; }

LogicalResult ReduceScatterStartOp::verify() {
  return verifyBlocks(*this, getOperand().getType(), getType(), "operand",
                      getAxis());
}
int64_t ReduceScatterStartOp::getFlops() { return 0; }

LogicalResult AllSliceOp::verify() {
  auto whole = getOperand().getType(), part = getType();
  int64_t axis = getAxis();
  if (whole.getElementType() != part.getElementType() ||
      whole.getRank() != part.getRank() || axis >= whole.getRank())
    return emitOpError("needs operand and result of one element type and "
                       "rank, with axis ")
           << axis << " among their dims";
  for (int64_t d = 0; d < whole.getRank(); ++d) {
    int64_t w = whole.getDimSize(d), p = part.getDimSize(d);
    bool ok = d == axis ? p > 0 && w % p == 0 : w == p;
    if (!ok)
      return emitOpError("result ")
             << part << " must be a block of " << whole << " along dim "
             << axis;
  }
  return success();
}
int64_t AllSliceOp::getFlops() { return 0; }
int64_t GroupRankOp::getFlops() { return 0; }
