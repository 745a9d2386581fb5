//===- GatherBeforeUsePass.cpp - Gather sharded parameters where used ----===//
//
// ZeRO-3 / FSDP keeps each parameter split over the ranks and gathers it
// whole only for the op that needs it. Upstream's partition gathers every
// split argument once, at the top of the function, and that whole copy
// then lives from the forward pass to the last backward use: the memory
// ZeRO-3 is meant to save. This pass gives each user its own gather, just
// before it, so a whole parameter lives only across one op (the forward
// use and the backward uses each gather again, as FSDP does).
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"

namespace accel {
#define GEN_PASS_DEF_GATHERBEFOREUSEPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct GatherBeforeUsePass
    : accel::impl::GatherBeforeUsePassBase<GatherBeforeUsePass> {
  void runOnOperation() override {
    SmallVector<AllGatherOp> gathers;
    getOperation().walk([&](AllGatherOp op) {
      if (isa<BlockArgument>(op.getOperand()))
        gathers.push_back(op);
    });
    for (AllGatherOp gather : gathers) {
      SmallVector<Operation *> users;
      for (Operation *user : gather->getUsers())
        if (!llvm::is_contained(users, user))
          users.push_back(user);
      for (Operation *user : users) {
        OpBuilder b(user);
        Value own = AllGatherOp::create(b, gather.getLoc(), gather.getType(),
                                        gather.getOperand(),
                                        gather.getGroupAttr());
        user->replaceUsesOfWith(gather, own);
      }
      gather.erase();
    }
  }
};

} // namespace
