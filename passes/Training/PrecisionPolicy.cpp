//===- PrecisionPolicy.cpp - Which ops run in low precision ---------------===//
#include "passes/Training/PrecisionPolicy.h"
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/ReverseSweep.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace accel;

// The policy. torch.autocast runs GEMM-like ops and attention in low
// precision and keeps ops that sum many terms or lose range (losses,
// softmax, norms, reductions) in fp32; accel does the same, keeping in fp32
// also what CPU autocast leaves in the input's type (elementwise ops, norms
// on CPU), so every value that is not a policy op's operand or result, or
// data moved between two of them, stays fp32:
//
// (The low type is bf16 or fp16, as accel-mixed-precision's dtype says.)
//
//   op                         precision  why
//   linear, matmul             low        GEMMs: 1.7-2.2x fp32 on AVX512-BF16
//                                         (AMX more), products summed in fp32
//   linear_cross_entropy       low        the fused LM head's three GEMMs;
//                                         its logits and loss stay fp32
//   attention                  low        its two products; scores, mask and
//                                         softmax fp32 inside the kernel
//   reshape, transpose, slice,
//   split, concat              as input   moving data between policy ops
//                                         does not round: done in low
//                                         precision, half the bytes
//   cross_entropy, mse, norms,
//   softmax, reductions        fp32       sums of many terms
//   global_norm, optimizer     fp32       master weights and state are fp32
//   everything else            fp32       elementwise ops keep fp32 values
bool accel::runsInLowPrecision(Operation *op) {
  return isa<LinearOp, MatmulOp, LinearCrossEntropyOp, AttentionOp>(op);
}

bool accel::takesLowPrecision(OpOperand &operand) {
  if (!runsInLowPrecision(operand.getOwner()) ||
      !isFloatTensor(operand.get().getType()))
    return false;
  // Attention adds its mask to fp32 scores.
  if (isa<AttentionOp>(operand.getOwner()))
    return operand.getOperandNumber() < 3;
  return true;
}

namespace {

/// Ops whose results are their operands' elements rearranged: the same in
/// any element type.
bool movesData(Operation *op) {
  return isa<ReshapeOp, TransposeOp, SliceOp, SplitOp, ConcatOp>(op);
}

/// The value of element type `low` that `v` widens, if `v` is a cast of
/// one.
Value widenedFrom(Value v, Type low) {
  auto up = v.getDefiningOp<CastOp>();
  if (!up || getElementTypeOrSelf(up.getOperand().getType()) != low)
    return Value();
  return up.getOperand();
}

/// Moves the widening casts of `widened` (results of a policy op, cast to
/// fp32) below the data movement that reads them, repeatedly: a reshape or
/// transpose between two policy ops (attention's heads, between the QKV
/// projection and attention) then runs on low-precision values, and the
/// consumer reads them without a round trip.
void sinkWideningCasts(ArrayRef<Value> widened, Type low) {
  SmallVector<Value> work(widened.begin(), widened.end());
  while (!work.empty()) {
    Value wide = work.pop_back_val();
    for (Operation *user : llvm::make_early_inc_range(wide.getUsers())) {
      if (!movesData(user))
        continue;
      SmallVector<Value> narrow;
      for (Value operand : user->getOperands())
        if (Value from = widenedFrom(operand, low))
          narrow.push_back(from);
      if (narrow.size() != user->getNumOperands())
        continue; // a concat of values not all low precision
      OpBuilder b(user);
      Operation *moved = b.clone(*user);
      moved->setOperands(narrow);
      for (auto [from, to] :
           llvm::zip(user->getResults(), moved->getResults())) {
        auto type = cast<RankedTensorType>(from.getType());
        to.setType(type.clone(low));
        Value back = CastOp::create(b, user->getLoc(), type, to);
        from.replaceAllUsesWith(back);
        work.push_back(back);
      }
      user->erase();
    }
  }
}

} // namespace

Type accel::lowPrecisionType(MLIRContext *context, LowPrecisionType dtype) {
  if (dtype == LowPrecisionType::FP16)
    return Float16Type::get(context);
  return BFloat16Type::get(context);
}

LogicalResult accel::applyPrecisionPolicy(func::FuncOp f, Type low) {
  DenseMap<std::pair<Value, Type>, Value> casts;
  auto castTo = [&](OpBuilder &b, Value v, Type element) -> Value {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getElementType() == element)
      return v;
    // fp32 made from a low-precision value: that value itself (exact).
    if (Value from = widenedFrom(v, element))
      return from;
    Value &known = casts[{v, element}];
    if (!known)
      known = CastOp::create(b, v.getLoc(), type.clone(element), v);
    return known;
  };
  SmallVector<Operation *> policyOps;
  f.walk([&](Operation *op) {
    if (runsInLowPrecision(op))
      policyOps.push_back(op);
  });
  for (Operation *op : policyOps) {
    OpBuilder b(op);
    SmallVector<Value> operands;
    for (OpOperand &operand : op->getOpOperands())
      operands.push_back(takesLowPrecision(operand)
                             ? castTo(b, operand.get(), low)
                             : operand.get());
    Operation *lowered = b.clone(*op);
    lowered->setOperands(operands);
    // The op's own type rule gives its results (a head's loss stays fp32).
    SmallVector<Type> types;
    if (failed(cast<InferTypeOpInterface>(lowered).inferReturnTypes(
            op->getContext(), op->getLoc(), lowered->getOperands(),
            lowered->getRawDictionaryAttrs(), lowered->getPropertiesStorage(),
            lowered->getRegions(), types)))
      return failure();
    for (auto [r, type] : llvm::zip(lowered->getResults(), types))
      r.setType(type);
    SmallVector<Value> widened;
    for (auto [from, to] : llvm::zip(op->getResults(), lowered->getResults())) {
      Value back = to;
      if (from.getType() != to.getType()) {
        back = CastOp::create(b, op->getLoc(), from.getType(), to);
        widened.push_back(back);
      }
      from.replaceAllUsesWith(back);
    }
    op->erase();
    sinkWideningCasts(widened, low);
  }
  // Widened values a later policy op now reads in low precision (and the
  // casts data movement was moved above).
  SmallVector<CastOp> unused;
  f.walk([&](CastOp cast) {
    if (cast->use_empty())
      unused.push_back(cast);
  });
  for (CastOp cast : unused)
    cast->erase();
  return success();
}
