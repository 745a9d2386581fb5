//===- MixedPrecisionPass.cpp - bf16/fp16 GEMMs, fp32 everything else -----===//
//
// torch.autocast as a rewrite of the loss form: the policy's ops
// (PrecisionPolicy.cpp) on bf16 operands, every other op on fp32 values.
// Running before accel-add-gradients, the backward pass follows from the
// casts' gradient rules.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/PrecisionPolicy.h"
#include "passes/Training/ReverseSweep.h"
#include "passes/Training/StepSignature.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace accel {
#define GEN_PASS_DEF_MIXEDPRECISIONPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct MixedPrecisionPass
    : accel::impl::MixedPrecisionPassBase<MixedPrecisionPass> {
  using MixedPrecisionPassBase::MixedPrecisionPassBase;

  void runOnOperation() override {
    if (dtype == LowPrecisionType::None)
      return;
    ModuleOp module = getOperation();
    func::FuncOp step = findTrainStep(module, getArgument());
    if (!step)
      return signalPassFailure();
    if (findArgument(step, kInputAttr, kLossGradInput)) {
      step.emitOpError(getArgument())
          << ": runs on the loss form of the step, before accel-add-gradients "
             "(the gradients follow from its casts)";
      return signalPassFailure();
    }
    // fp16's gradients need loss scaling, which accel-add-optimizer adds
    // for a step that computes in fp16.
    Type low = dtype == LowPrecisionType::FP16
                   ? Type(Float16Type::get(&getContext()))
                   : Type(BFloat16Type::get(&getContext()));
    auto eval = module.lookupSymbol<func::FuncOp>("eval_step");
    if (failed(rewrite(step, low)) || (eval && failed(rewrite(eval, low))))
      return signalPassFailure();
  }

private:
  /// Runs every op of the policy in `low`, with casts around it.
  LogicalResult rewrite(func::FuncOp f, Type low) {
    // One cast per value and type: a weight read by several ops is cast
    // once.
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
      for (auto [from, to] :
           llvm::zip(op->getResults(), lowered->getResults())) {
        Value back = to;
        if (from.getType() != to.getType())
          back = CastOp::create(b, op->getLoc(), from.getType(), to);
        from.replaceAllUsesWith(back);
      }
      op->erase();
    }
    return success();
  }
};

} // namespace
