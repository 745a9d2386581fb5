//===- GatherBeforeUsePass.cpp - Gather sharded parameters where used ----===//
//
// ZeRO-3 / FSDP keeps each parameter split over the ranks and gathers it
// whole only for the op that needs it. Upstream's partition gathers every
// split argument once, at the top of the function, and that whole copy
// then lives from the forward pass to the last backward use: the memory
// ZeRO-3 is meant to save. This pass gives each user its own gather, just
// before it, so a whole parameter lives only across one op (the forward
// use and the backward uses each gather again, as FSDP does), and starts
// the gathers of the next reader as the current one runs (FSDP's
// prefetch), so at most two readers' parameters are held whole.
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"

namespace accel {
#define GEN_PASS_DEF_GATHERBEFOREUSEPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// cast(all_gather(p)) -> all_gather(cast(p)) for narrowing casts.
void gatherNarrow(AllGatherOp gather) {
  for (Operation *user : llvm::make_early_inc_range(gather->getUsers())) {
    auto narrow = dyn_cast<CastOp>(user);
    if (!narrow || !isLowPrecisionFloat(narrow.getType()))
      continue;
    OpBuilder b(gather);
    auto block = cast<RankedTensorType>(gather.getOperand().getType());
    Value cast = CastOp::create(b, narrow.getLoc(),
                                block.clone(narrow.getType().getElementType()),
                                gather.getOperand());
    narrow.replaceAllUsesWith(
        AllGatherOp::create(b, gather.getLoc(), narrow.getType(), cast,
                            gather.getGroupAttr(), gather.getAxisAttr())
            .getResult());
    narrow.erase();
  }
  if (gather->use_empty())
    gather.erase();
}

/// A parameter's block, or its cast to a low precision.
bool isParameterBlock(Value v) {
  if (auto narrow = v.getDefiningOp<CastOp>())
    v = narrow.getOperand();
  return isa<BlockArgument>(v);
}

struct GatherBeforeUsePass
    : accel::impl::GatherBeforeUsePassBase<GatherBeforeUsePass> {
  using GatherBeforeUsePassBase::GatherBeforeUsePassBase;

  void runOnOperation() override {
    SmallVector<AllGatherOp> gathers;
    getOperation().walk([&](AllGatherOp op) {
      if (isa<BlockArgument>(op.getOperand()))
        gathers.push_back(op);
    });
    for (AllGatherOp gather : gathers)
      gatherNarrow(gather);
    gathers.clear();
    getOperation().walk([&](AllGatherOp op) {
      if (isParameterBlock(op.getOperand()))
        gathers.push_back(op);
    });
    // Each reader's own gathers, by reader, in program order.
    llvm::MapVector<Operation *, SmallVector<AllGatherOp>> byReader;
    for (AllGatherOp gather : gathers) {
      SmallVector<Operation *> users;
      for (Operation *user : gather->getUsers())
        if (!llvm::is_contained(users, user))
          users.push_back(user);
      for (Operation *user : users) {
        OpBuilder b(user);
        auto own = AllGatherOp::create(b, gather.getLoc(), gather.getType(),
                                       gather.getOperand(),
                                       gather.getGroupAttr(),
                                       gather.getAxisAttr());
        user->replaceUsesOfWith(gather, own);
        byReader[user].push_back(own);
      }
      gather.erase();
    }
    if (!prefetch)
      return;
    SmallVector<Operation *> readers;
    for (auto &[reader, own] : byReader)
      readers.push_back(reader);
    llvm::sort(readers, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    // FSDP's prefetch: the gathers of reader k+1 start just before reader
    // k runs (after its own gathers complete), so they travel while it and
    // what follows compute; each completes just before its reader.
    Operation *startAt = nullptr;
    for (Operation *reader : readers) {
      OpBuilder b(startAt ? startAt : byReader[reader].front().getOperation());
      SmallVector<std::pair<AllGatherOp, Value>> started;
      for (AllGatherOp gather : byReader[reader])
        started.push_back(
            {gather, AllGatherStartOp::create(b, gather.getLoc(),
                                              gather.getType(),
                                              gather.getOperand(),
                                              gather.getGroupAttr(),
                                              gather.getAxisAttr())});
      for (auto [gather, handle] : started) {
        b.setInsertionPoint(gather);
        Value done = WaitOp::create(b, gather.getLoc(), handle,
                                    ValueRange{gather.getOperand()});
        gather.getResult().replaceAllUsesWith(done);
        gather.erase();
      }
      startAt = reader;
    }
  }
};

} // namespace
