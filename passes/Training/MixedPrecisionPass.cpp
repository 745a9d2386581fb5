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
    Type low = lowPrecisionType(&getContext(), dtype);
    auto eval = module.lookupSymbol<func::FuncOp>("eval_step");
    if (failed(applyPrecisionPolicy(step, low)) ||
        (eval && failed(applyPrecisionPolicy(eval, low))))
      return signalPassFailure();
  }
};

} // namespace
