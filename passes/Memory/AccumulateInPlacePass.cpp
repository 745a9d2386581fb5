//===- AccumulateInPlacePass.cpp - scatter_add into the tensor it adds to -===//
//
// add(x, scatter_add(u, i)) -> scatter_add(u, i, init = x), so the memory
// planner can add the slices into x's buffer (a tied embedding's gradient:
// the LM head's weight gradient plus the embedding's).
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Memory/Passes.h"

namespace accel {
#define GEN_PASS_DEF_ACCUMULATEINPLACEPASS
#include "passes/Memory/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct AccumulateInPlacePass
    : accel::impl::AccumulateInPlacePassBase<AccumulateInPlacePass> {
  void runOnOperation() override {
    SmallVector<AddOp> sums;
    getOperation().walk([&](AddOp add) { sums.push_back(add); });
    for (AddOp add : sums) {
      for (unsigned i : {1u, 0u}) {
        auto scatter = add->getOperand(i).getDefiningOp<ScatterAddOp>();
        Value x = add->getOperand(1 - i);
        if (!scatter || scatter.getInit() || !scatter->hasOneUse() ||
            x.getType() != add.getType() || scatter.getType() != add.getType())
          continue;
        OpBuilder b(add);
        Value into = ScatterAddOp::create(
            b, scatter.getLoc(), add.getType(), scatter.getUpdates(),
            scatter.getIndices(), x, scatter.getAxisAttr(),
            scatter.getSkipIndexAttr());
        add.replaceAllUsesWith(into);
        add.erase();
        scatter.erase();
        break;
      }
    }
  }
};

} // namespace
