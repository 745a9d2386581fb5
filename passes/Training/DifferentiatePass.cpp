//===- DifferentiatePass.cpp - Reverse-mode gradient functions -----------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/ReverseSweep.h"

#include "mlir/IR/IRMapping.h"

namespace accel {
#define GEN_PASS_DEF_DIFFERENTIATEPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// The name an argument goes by (its accel.param / accel.buffer /
/// accel.input attribute), or a positional one.
std::string argName(func::FuncOp f, unsigned i) {
  for (StringRef attr : {kParamAttr, kBufferAttr, kInputAttr})
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

  // The forward computation, cloned, then the reverse sweep.
  IRMapping map;
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    map.map(f.getArgument(i), entry->getArgument(i));
  b.setInsertionPointToEnd(entry);
  SmallVector<Operation *> forward;
  for (Operation &op : f.getBody().front().without_terminator())
    forward.push_back(b.clone(op, map));
  SmallVector<Value> wrt;
  for (BlockArgument arg : entry->getArguments().drop_back())
    if (isFloatTensor(arg.getType()))
      wrt.push_back(arg);
  FailureOr<SmallVector<Value>> grads =
      buildReverseSweep(b, forward, map.lookup(result),
                        entry->getArguments().back(), wrt, f.getLoc());
  if (failed(grads)) {
    g.erase();
    return failure();
  }
  unsigned k = 0;
  for (unsigned i = 0; i < f.getNumArguments(); ++i)
    if (isFloatTensor(f.getArgument(i).getType()))
      g.setResultAttr(k++, kOutputAttr,
                      b.getStringAttr(argName(f, i) + ".grad"));
  func::ReturnOp::create(b, f.getLoc(), *grads);
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
