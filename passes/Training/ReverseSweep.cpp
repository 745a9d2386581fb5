//===- ReverseSweep.cpp - Reverse-mode autodiff over a block -------------===//
#include "passes/Training/ReverseSweep.h"
#include "dialects/Accel/AccelOps.h"

using namespace mlir;

bool accel::isFloatTensor(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  return ranked && isa<FloatType>(ranked.getElementType());
}

FailureOr<SmallVector<Value>>
accel::buildReverseSweep(OpBuilder &b, ArrayRef<Operation *> ops, Value result,
                         Value seed, ValueRange wrt, Location loc) {
  DenseMap<Value, Value> grads;
  grads[result] = seed;
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    // Nothing to propagate past an op without operands (a constant).
    if (!any || op->getNumOperands() == 0)
      continue;
    auto rule = dyn_cast<DifferentiableOpInterface>(op);
    if (!rule)
      return emitError(loc, "cannot differentiate '")
             << op->getName() << "' at " << op->getLoc()
             << ": it has no gradient rule";
    // A rule that cannot handle its op's attributes says why on the op.
    SmallVector<Value> operandGrads;
    if (failed(rule.buildGradient(b, resultGrads, operandGrads)))
      return failure();
    for (auto [operand, og] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!og || !isFloatTensor(operand.getType()))
        continue;
      Value &acc = grads[operand];
      acc = acc ? AddOp::create(b, op->getLoc(), acc, og).getResult() : og;
    }
  }

  SmallVector<Value> out;
  for (Value v : wrt) {
    Value grad = grads.lookup(v);
    if (!grad) { // the result does not depend on v
      auto type = cast<RankedTensorType>(v.getType());
      grad = ConstantOp::create(
          b, loc, type,
          DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
    }
    out.push_back(grad);
  }
  return out;
}
