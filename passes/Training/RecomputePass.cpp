//===- RecomputePass.cpp - Activation recomputation per block ------------===//
//
// Activation checkpointing as a rewrite of the gradient form: the values a
// block's backward pass reads are computed again, just before that
// backward pass, from what the block keeps, so the forward pass's copies die
// early. The clones are the same ops on the same operands (dropout's mask
// is a function of seed, step and position), so the step's results are
// bitwise those without recomputation.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/RecomputeBudget.h"
#include "passes/Training/StepSignature.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace accel {
#define GEN_PASS_DEF_RECOMPUTEPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// On the clones: they compute a value the forward pass computed already
/// (and tell CSE apart from it).
constexpr llvm::StringLiteral kRecomputedAttr = "accel.recomputed";

/// The block an op belongs to: the deepest module of its scope that is an
/// item of a module list ("transformer.h.3" of "transformer.h.3.attn"), the
/// unit Megatron and torch's checkpoint wrappers recompute. Empty outside
/// such a module (embeddings, final norm, head).
StringRef blockOf(Location loc) {
  StringRef scope = moduleScopeOf(loc);
  SmallVector<StringRef> parts;
  scope.split(parts, '.');
  size_t end = 0, at = 0;
  for (auto [i, part] : llvm::enumerate(parts)) {
    if (!part.empty() &&
        llvm::all_of(part, [](char c) { return llvm::isDigit(c); }))
      end = at + part.size();
    at += part.size() + 1;
  }
  return scope.take_front(end);
}

/// Ops whose results selective recomputation keeps: the GEMMs and attention,
/// costly to recompute; what lies between them (norms, activations,
/// dropout, residual sums, casts) is cheap and recomputed.
bool isCostly(Operation *op) {
  return isa<LinearOp, MatmulOp, AttentionOp, LinearCrossEntropyOp>(op);
}

struct RecomputePass : accel::impl::RecomputePassBase<RecomputePass> {
  using RecomputePassBase::RecomputePassBase;

  void runOnOperation() override {
    if (mode == RecomputeMode::None)
      return;
    FailureOr<GradientForm> form =
        readGradientForm(getOperation(), getArgument());
    if (failed(form))
      return signalPassFailure();
    func::FuncOp f = form->func;
    Block &body = f.getBody().front();
    Value seed = f.getArgument(form->lossGrad);

    // Program order; the backward pass (the reverse sweep, from the first
    // op that reads the loss's cotangent on: it includes derivatives that
    // read only forward values) and the values that depend on the batch
    // (parameters' casts and transposes do not: they are kept, as the
    // backward GEMMs read them).
    DenseMap<Operation *, unsigned> order;
    DenseSet<Operation *> backward;
    DenseSet<Value> batchDependent;
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (auto input = f.getArgAttrOfType<StringAttr>(i, kInputAttr))
        if (input.getValue() != kStepInput && i != form->lossGrad)
          batchDependent.insert(f.getArgument(i));
    bool inBackward = false;
    for (Operation &op : body) {
      order[&op] = order.size();
      inBackward |= llvm::is_contained(op.getOperands(), seed);
      if (inBackward)
        backward.insert(&op);
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return batchDependent.contains(v); }))
        for (Value r : op.getResults())
          batchDependent.insert(r);
    }
    // The forward pass's ops by block, in order.
    llvm::MapVector<StringRef, SmallVector<Operation *>> blocks;
    DenseMap<Operation *, StringRef> blockOfOp;
    for (Operation &op : body) {
      if (backward.contains(&op) || isa<func::ReturnOp>(op))
        continue;
      StringRef block = blockOf(op.getLoc());
      if (block.empty())
        continue;
      blocks[block].push_back(&op);
      blockOfOp[&op] = block;
    }

    DenseMap<StringRef, RecomputeMode> modes;
    for (auto &[block, ops] : blocks)
      modes[block] = mode;
    if (mode == RecomputeMode::Budget &&
        failed(chooseWithinBudget(f, blocks, blockOfOp, backward,
                                  batchDependent, modes)))
      return signalPassFailure();
    // Every block's kept values before any clone joins the backward pass.
    DenseMap<StringRef, DenseSet<Value>> kept;
    for (auto &[block, ops] : blocks)
      kept[block] =
          keptBy(block, ops, modes[block], blockOfOp, backward, batchDependent);
    for (auto &[block, ops] : blocks)
      if (modes[block] != RecomputeMode::None)
        recomputeBlock(block, ops, kept[block], backward, order, blockOfOp);
  }

private:
  /// What `block` keeps under `blockMode`: its inputs and outputs (values
  /// crossing its boundary, which the blocks around it read), values
  /// independent of the batch and, when selective, its costly ops'
  /// results.
  static DenseSet<Value>
  keptBy(StringRef block, ArrayRef<Operation *> ops, RecomputeMode blockMode,
         const DenseMap<Operation *, StringRef> &blockOfOp,
         const DenseSet<Operation *> &backward,
         const DenseSet<Value> &batchDependent) {
    DenseSet<Value> kept;
    for (Operation *op : ops) {
      for (Value v : op->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (!def || blockOfOp.lookup(def) != block)
          kept.insert(v);
      }
      for (Value r : op->getResults()) {
        if (blockMode == RecomputeMode::None || !batchDependent.contains(r) ||
            (blockMode == RecomputeMode::Selective && isCostly(op)))
          kept.insert(r);
        for (Operation *user : r.getUsers())
          if (!backward.contains(user) && blockOfOp.lookup(user) != block)
            kept.insert(r);
      }
    }
    return kept;
  }

  /// The activations `block` keeps for the backward pass under a mode:
  /// bytes of its batch-dependent results kept alive into the backward
  /// pass (read by a backward op, by a later block, or by an op computed
  /// again), and the FLOPs of the ops it computes again.
  static std::pair<int64_t, int64_t>
  costOf(StringRef block, ArrayRef<Operation *> ops, RecomputeMode blockMode,
         const DenseMap<Operation *, StringRef> &blockOfOp,
         const DenseSet<Operation *> &backward,
         const DenseSet<Value> &batchDependent) {
    DenseSet<Value> kept =
        keptBy(block, ops, blockMode, blockOfOp, backward, batchDependent);
    auto recomputed = [&](Operation *op) {
      return llvm::any_of(op->getResults(), [&](Value r) {
        return batchDependent.contains(r) && !kept.contains(r);
      });
    };
    int64_t bytes = 0, flops = 0;
    for (Operation *op : ops) {
      for (Value r : op->getResults())
        if (batchDependent.contains(r) && kept.contains(r) &&
            llvm::any_of(r.getUsers(), [&](Operation *u) {
              return backward.contains(u) || blockOfOp.lookup(u) != block ||
                     recomputed(u);
            }))
          if (auto tensor = dyn_cast<RankedTensorType>(r.getType()))
            bytes += tensorBytes(tensor);
      if (recomputed(op))
        if (auto cost = dyn_cast<CostOpInterface>(op))
          flops += cost.getFlops();
    }
    return {bytes, flops};
  }

  /// mode=budget: the modes with the fewest FLOPs recomputed whose kept
  /// activations fit in the budget (RecomputeBudget.h).
  LogicalResult chooseWithinBudget(
      func::FuncOp f,
      const llvm::MapVector<StringRef, SmallVector<Operation *>> &blocks,
      const DenseMap<Operation *, StringRef> &blockOfOp,
      const DenseSet<Operation *> &backward,
      const DenseSet<Value> &batchDependent,
      DenseMap<StringRef, RecomputeMode> &modes) {
    if (budget < 0) {
      f.emitOpError(getArgument())
          << ": mode=budget needs budget=<bytes>, the activations the "
             "blocks may keep for the backward pass";
      return failure();
    }
    const RecomputeMode byIndex[] = {
        RecomputeMode::None, RecomputeMode::Selective, RecomputeMode::Full};
    std::vector<BlockRecomputeCosts> costs;
    for (auto &[block, ops] : blocks) {
      BlockRecomputeCosts &c = costs.emplace_back();
      for (int i = 0; i < 3; ++i) {
        auto [bytes, flops] =
            costOf(block, ops, byIndex[i], blockOfOp, backward, batchDependent);
        c[i] = RecomputeCost{bytes, flops};
      }
    }
    RecomputeChoice choice =
        chooseRecomputeModes(costs, static_cast<int64_t>(budget));
    for (auto [i, entry] : llvm::enumerate(blocks))
      modes[entry.first] = byIndex[choice.modes[i]];
    if (!choice.fits)
      emitWarning(f.getLoc(), getArgument())
          << ": the blocks keep " << choice.keptBytes
          << " bytes for the backward pass even when each keeps the least "
             "it can, more than the budget of "
          << static_cast<int64_t>(budget) << " bytes";
    Builder b(f.getContext());
    SmallVector<NamedAttribute> plan;
    for (auto &[block, ops] : blocks)
      plan.push_back(
          b.getNamedAttr(block, b.getStringAttr(stringifyMode(modes[block]))));
    plan.push_back(
        b.getNamedAttr("kept_bytes", b.getI64IntegerAttr(choice.keptBytes)));
    plan.push_back(
        b.getNamedAttr("recomputed_flops", b.getI64IntegerAttr(choice.flops)));
    f->setAttr("accel.recompute_plan", b.getDictionaryAttr(plan));
    return success();
  }

  static StringRef stringifyMode(RecomputeMode m) {
    return m == RecomputeMode::Full        ? "full"
           : m == RecomputeMode::Selective ? "selective"
                                           : "none";
  }

  /// Clones what `block`'s backward pass reads, from what it keeps, before
  /// the first backward op that reads it.
  void recomputeBlock(StringRef block, ArrayRef<Operation *> ops,
                      const DenseSet<Value> &kept,
                      DenseSet<Operation *> &backward,
                      const DenseMap<Operation *, unsigned> &order,
                      const DenseMap<Operation *, StringRef> &blockOfOp) {
    SetVector<Value> needed;
    Operation *first = nullptr;
    for (Operation *op : ops)
      for (Value r : op->getResults()) {
        if (kept.contains(r))
          continue;
        for (Operation *user : r.getUsers()) {
          if (!backward.contains(user))
            continue;
          needed.insert(r);
          if (!first || order.lookup(user) < order.lookup(first))
            first = user;
        }
      }
    if (needed.empty())
      return;
    // The ops that compute them from kept values, in program order.
    SetVector<Operation *> closure;
    SmallVector<Operation *> work;
    for (Value v : needed)
      work.push_back(v.getDefiningOp());
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!closure.insert(op))
        continue;
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp();
            def && !kept.contains(v) && blockOfOp.lookup(def) == block)
          work.push_back(def);
    }
    SmallVector<Operation *> toClone(closure.begin(), closure.end());
    llvm::sort(toClone, [&](Operation *a, Operation *b) {
      return order.lookup(a) < order.lookup(b);
    });
    OpBuilder b(first);
    IRMapping map;
    for (Operation *op : toClone) {
      Operation *clone = b.clone(*op, map);
      // Marked, so that CSE does not take the clone for its original.
      clone->setAttr(kRecomputedAttr, b.getUnitAttr());
      backward.insert(clone);
    }
    // The backward pass reads the clones (which read only kept values and
    // each other, never the originals).
    for (Value v : needed)
      v.replaceUsesWithIf(map.lookup(v), [&](OpOperand &use) {
        return backward.contains(use.getOwner());
      });
  }
};

} // namespace
