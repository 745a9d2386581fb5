//===- PrecisionPolicy.cpp - Which ops run in low precision ---------------===//
#include "passes/Training/PrecisionPolicy.h"
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/ReverseSweep.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;

// The policy. torch.autocast runs GEMM-like ops in low precision and keeps
// ops that sum many terms or lose range (losses, softmax, norms, reductions)
// in fp32; accel does the same, keeping in fp32 also what CPU autocast
// leaves in the input's type (elementwise ops, norms on CPU), so every
// value that is not a GEMM's operand or result stays fp32:
//
// (The low type is bf16 or fp16, as accel-mixed-precision's dtype says.)
//
//   op                         precision  why
//   linear, matmul             low        GEMMs: 1.7-2.2x fp32 on AVX512-BF16
//                                         (AMX more), products summed in fp32
//   linear_cross_entropy       low        the fused LM head's three GEMMs;
//                                         its logits and loss stay fp32
//   attention                  fp32       bf16 kernel not written yet
//   cross_entropy, mse, norms,
//   softmax, reductions        fp32       sums of many terms
//   global_norm, optimizer     fp32       master weights and state are fp32
//   everything else            fp32       elementwise ops keep fp32 values
bool accel::runsInLowPrecision(Operation *op) {
  return isa<LinearOp, MatmulOp, LinearCrossEntropyOp>(op);
}

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
    if (auto up = v.getDefiningOp<CastOp>();
        up &&
        cast<RankedTensorType>(up.getOperand().getType()).getElementType() ==
            element)
      return up.getOperand();
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
    for (Value v : op->getOperands())
      operands.push_back(isFloatTensor(v.getType()) ? castTo(b, v, low) : v);
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
    for (auto [from, to] : llvm::zip(op->getResults(), lowered->getResults())) {
      Value back = to;
      if (from.getType() != to.getType())
        back = CastOp::create(b, op->getLoc(), from.getType(), to);
      from.replaceAllUsesWith(back);
    }
    op->erase();
  }
  return success();
}
