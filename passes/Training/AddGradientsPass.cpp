//===- AddGradientsPass.cpp - The training step's gradients ---------------===//
//
// The second stage of the training step: the loss form becomes the
// gradient form, with the loss's cotangent as an argument and each trained
// parameter's gradient as a result.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/ReverseSweep.h"
#include "passes/Training/StepSignature.h"

namespace accel {
#define GEN_PASS_DEF_ADDGRADIENTSPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct AddGradientsPass : accel::impl::AddGradientsPassBase<AddGradientsPass> {
  using AddGradientsPassBase::AddGradientsPassBase;

  void runOnOperation() override {
    func::FuncOp f = findTrainStep(getOperation(), getArgument());
    if (!f)
      return signalPassFailure();
    std::optional<unsigned> loss = findResult(f, kOutputAttr, kLossOutput);
    if (!loss || f.getNumResults() != 1 ||
        findArgument(f, kInputAttr, kLossGradInput)) {
      f.emitOpError(getArgument())
          << ": needs the loss form of the step (one result, '" << kLossOutput
          << "'; accel-build-loss builds it)";
      return signalPassFailure();
    }
    SmallVector<unsigned> params;
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (isTrainedParameter(f, i))
        params.push_back(i);
    if (params.empty()) {
      f.emitOpError(getArgument()) << ": has no trained parameter";
      return signalPassFailure();
    }

    Block &body = f.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Value lossValue = ret.getOperand(0);
    auto lossType = dyn_cast<RankedTensorType>(lossValue.getType());
    if (!lossType || lossType.getRank() != 0 || !isFloatTensor(lossType)) {
      f.emitOpError(getArgument())
          << ": the loss must be a floating-point scalar, not "
          << lossValue.getType();
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    SmallVector<DictionaryAttr> argAttrs, resultAttrs;
    f.getAllArgAttrs(argAttrs);
    f.getAllResultAttrs(resultAttrs);
    OpBuilder b(ret);
    Value seed = body.addArgument(lossType, f.getLoc());
    SmallVector<Value> wrt;
    for (unsigned i : params)
      wrt.push_back(f.getArgument(i));
    FailureOr<SmallVector<Value>> grads =
        buildReverseSweep(b, ops, lossValue, seed, wrt, f.getLoc());
    if (failed(grads))
      return signalPassFailure();

    SmallVector<Value> results = {lossValue};
    results.append(*grads);
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    SmallVector<Type> argTypes(f.getArgumentTypes());
    argTypes.push_back(lossType);
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    // The signature grows by one argument and a result per parameter; the
    // attribute arrays grow with it.
    f.setType(b.getFunctionType(argTypes, resultTypes));
    argAttrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(kInputAttr, b.getStringAttr(kLossGradInput))));
    for (unsigned i : params)
      resultAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(kGradAttr, f.getArgAttr(i, kParamAttr))));
    f.setAllArgAttrs(argAttrs);
    f.setAllResultAttrs(resultAttrs);
  }
};

} // namespace
