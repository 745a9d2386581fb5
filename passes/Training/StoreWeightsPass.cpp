//===- StoreWeightsPass.cpp - An inference model's weights in bf16/fp16 ---===//
//
// Inference after training in mixed precision: the policy's ops
// (PrecisionPolicy.cpp) run in bf16/fp16 as in training, and the
// parameters themselves are stored in that type, half the memory of fp32
// weights (PyTorch's `model.to(torch.bfloat16)`). Ops outside the policy
// (norms, embeddings) read the stored values widened to fp32, so they
// compute as in fp32. The runtime rounds an fp32 weights file's tensors to
// the stored type once, as it loads them.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/PrecisionPolicy.h"
#include "passes/Training/StepSignature.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

namespace accel {
#define GEN_PASS_DEF_STOREWEIGHTSPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct StoreWeightsPass : accel::impl::StoreWeightsPassBase<StoreWeightsPass> {
  using StoreWeightsPassBase::StoreWeightsPassBase;

  void runOnOperation() override {
    if (dtype == LowPrecisionType::None)
      return;
    ModuleOp module = getOperation();
    if (auto step = module.lookupSymbol<func::FuncOp>(kTrainStepName)) {
      step.emitOpError(getArgument())
          << ": stores an inference model's weights; a training step keeps "
             "fp32 master weights (train with mixed-precision=bf16 instead)";
      return signalPassFailure();
    }
    Type low = lowPrecisionType(&getContext(), dtype);
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f.isExternal())
        continue;
      if (failed(applyPrecisionPolicy(f, low)) || failed(store(f, low)))
        return signalPassFailure();
      keepSumsWide(f);
    }
  }

private:
  /// A GEMM whose low-precision result is only widened again (the logits
  /// an LM head returns) gives its fp32 sums directly: no rounding, and no
  /// low-precision copy alive beside the fp32 one. Without gradients to
  /// follow, nothing else reads the rounded value.
  static void keepSumsWide(func::FuncOp f) {
    SmallVector<CastOp> widened;
    f.walk([&](CastOp cast) {
      Operation *gemm = cast.getOperand().getDefiningOp();
      auto linear = dyn_cast_or_null<LinearOp>(gemm);
      if (gemm && gemm->hasOneUse() &&
          ((linear && !linear.getBias()) || isa_and_nonnull<MatmulOp>(gemm)) &&
          getElementTypeOrSelf(cast.getType()).isF32())
        widened.push_back(cast);
    });
    for (CastOp cast : widened) {
      Operation *gemm = cast.getOperand().getDefiningOp();
      gemm->getResult(0).setType(cast.getType());
      cast.replaceAllUsesWith(gemm->getResult(0));
      cast.erase();
    }
  }

  /// Each fp32 parameter of `f` becomes a `low` argument: its casts to
  /// `low` are the argument itself, other readers read one widening cast.
  LogicalResult store(func::FuncOp f, Type low) {
    Block &entry = f.getBody().front();
    SmallVector<Type> inputs(f.getArgumentTypes());
    for (BlockArgument arg : entry.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!f.getArgAttr(arg.getArgNumber(), kParamAttr) || !type ||
          !type.getElementType().isF32())
        continue;
      auto narrow = type.clone(low);
      arg.setType(narrow);
      inputs[arg.getArgNumber()] = narrow;
      Value widened;
      for (OpOperand &use : llvm::make_early_inc_range(arg.getUses())) {
        if (auto cast = dyn_cast<CastOp>(use.getOwner());
            cast && cast.getType() == narrow) {
          cast.replaceAllUsesWith(arg);
          cast.erase();
          continue;
        }
        if (!widened) {
          OpBuilder b = OpBuilder::atBlockBegin(&entry);
          widened = CastOp::create(b, arg.getLoc(), type, arg);
        }
        use.set(widened);
      }
    }
    f.setFunctionType(
        FunctionType::get(&getContext(), inputs, f.getResultTypes()));
    return success();
  }
};

} // namespace
