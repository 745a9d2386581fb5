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

    // What every block keeps: its inputs and outputs (values crossing its
    // boundary, which the blocks around it read), values independent of
    // the batch and, when selective, its costly ops' results.
    auto inBlock = [&](Value v, StringRef block) {
      Operation *def = v.getDefiningOp();
      return def && blockOfOp.lookup(def) == block;
    };
    DenseSet<Value> kept;
    for (auto &[block, ops] : blocks)
      for (Operation *op : ops) {
        for (Value v : op->getOperands())
          if (!inBlock(v, block))
            kept.insert(v);
        for (Value r : op->getResults()) {
          if (!batchDependent.contains(r) ||
              (mode == RecomputeMode::Selective && isCostly(op)))
            kept.insert(r);
          for (Operation *user : r.getUsers())
            if (!backward.contains(user) && blockOfOp.lookup(user) != block)
              kept.insert(r);
        }
      }

    for (auto &[block, ops] : blocks)
      recomputeBlock(block, ops, kept, backward, order, blockOfOp);
  }

private:
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
