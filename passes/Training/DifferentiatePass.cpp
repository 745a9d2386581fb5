//===- DifferentiatePass.cpp - Reverse-mode gradient functions -----------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace accel {
#define GEN_PASS_DEF_DIFFERENTIATEPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

bool isFloatTensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && isa<FloatType>(r.getElementType());
}

/// The name an argument or result goes by (its accel.param / accel.input /
/// accel.output attribute), or a positional one.
std::string argName(func::FuncOp f, unsigned i) {
  for (StringRef attr : {kParamAttr, kInputAttr})
    if (auto name = f.getArgAttrOfType<StringAttr>(i, attr))
      return name.str();
  return "arg" + std::to_string(i);
}

FailureOr<func::FuncOp> differentiate(func::FuncOp f) {
  auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
  Value result = ret.getOperand(0);
  OpBuilder b(f.getContext());
  b.setInsertionPointAfter(f);

  // Signature: the forward arguments, then the result's cotangent.
  SmallVector<Type> argTypes(f.getArgumentTypes());
  argTypes.push_back(result.getType());
  SmallVector<Type> resultTypes;
  for (Type t : f.getArgumentTypes())
    if (isFloatTensor(t))
      resultTypes.push_back(t);
  auto g = func::FuncOp::create(b, f.getLoc(), (f.getSymName() + "_grad").str(),
                                b.getFunctionType(argTypes, resultTypes));
  Block *entry = g.addEntryBlock();
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    g.setArgAttrs(i, f.getArgAttrDict(i));
  auto outName = f.getResultAttrOfType<StringAttr>(0, kOutputAttr);
  g.setArgAttr(f.getNumArguments(), kInputAttr,
               b.getStringAttr((outName ? outName.str() : "output") + ".grad"));

  // The forward computation, cloned.
  IRMapping map;
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    map.map(f.getArgument(i), entry->getArgument(i));
  b.setInsertionPointToEnd(entry);
  SmallVector<Operation *> forward;
  for (Operation &op : f.getBody().front().without_terminator())
    forward.push_back(b.clone(op, map));

  // Reverse sweep.
  DenseMap<Value, Value> grads;
  grads[map.lookup(result)] = entry->getArgument(f.getNumArguments());
  for (Operation *op : llvm::reverse(forward)) {
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
    if (!rule) {
      g.erase();
      return f->emitError("cannot differentiate '")
             << op->getName() << "' at " << op->getLoc()
             << ": it has no gradient rule";
    }
    // A rule that cannot handle its op's attributes says why on the op.
    SmallVector<Value> operandGrads;
    if (failed(rule.buildGradient(b, resultGrads, operandGrads))) {
      g.erase();
      return failure();
    }
    for (auto [operand, og] : llvm::zip(op->getOperands(), operandGrads)) {
      if (!og || !isFloatTensor(operand.getType()))
        continue;
      Value &acc = grads[operand];
      acc = acc ? AddOp::create(b, op->getLoc(), acc, og).getResult() : og;
    }
  }

  SmallVector<Value> outputs;
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    if (!isFloatTensor(f.getArgument(i).getType()))
      continue;
    Value grad = grads.lookup(entry->getArgument(i));
    if (!grad) { // the result does not depend on this argument
      auto type = cast<RankedTensorType>(f.getArgument(i).getType());
      grad = ConstantOp::create(
          b, f.getLoc(), type,
          DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
    }
    g.setResultAttr(outputs.size(), kOutputAttr,
                    b.getStringAttr(argName(f, i) + ".grad"));
    outputs.push_back(grad);
  }
  func::ReturnOp::create(b, f.getLoc(), outputs);
  return g;
}

struct DifferentiatePass
    : accel::impl::DifferentiatePassBase<DifferentiatePass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> functions;
    for (auto f : getOperation().getOps<func::FuncOp>())
      if (!f.isExternal())
        functions.push_back(f);
    for (func::FuncOp f : functions) {
      if (f.getNumResults() != 1 || !isFloatTensor(f.getResultTypes()[0])) {
        f.emitOpError("needs exactly one floating-point tensor result to be "
                      "differentiated");
        return signalPassFailure();
      }
      if (failed(differentiate(f)))
        return signalPassFailure();
    }
  }
};

} // namespace
