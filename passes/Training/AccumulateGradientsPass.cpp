//===- AccumulateGradientsPass.cpp - Micro-batches per optimizer step -----===//
//
// Gradient accumulation on the gradient form of @train_step: the body runs
// once per micro-batch, in order, and the gradients add up. Only the
// current micro-batch's activations are alive, so the buffer planner gives
// the step the memory of the small batch.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/StepSignature.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

namespace accel {
#define GEN_PASS_DEF_ACCUMULATEGRADIENTSPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// Whether `op` is a cross-entropy whose mean counts positions (and so
/// takes the count of the whole step under global normalization).
bool isCountingLoss(Operation *op) {
  return isa<CrossEntropyOp, CrossEntropyGradOp, LinearCrossEntropyOp>(op);
}

/// The count operand of a counting loss (empty when it has none).
MutableOperandRange countOf(Operation *op) {
  if (auto o = dyn_cast<CrossEntropyOp>(op))
    return o.getCountMutable();
  if (auto o = dyn_cast<CrossEntropyGradOp>(op))
    return o.getCountMutable();
  return cast<LinearCrossEntropyOp>(op).getCountMutable();
}

Value labelsOf(Operation *op) {
  return TypeSwitch<Operation *, Value>(op)
      .Case([](CrossEntropyOp o) { return o.getLabels(); })
      .Case([](CrossEntropyGradOp o) { return o.getLabels(); })
      .Case([](LinearCrossEntropyOp o) { return o.getLabels(); });
}

int64_t ignoreIndexOf(Operation *op) {
  return cast<IntegerAttr>(op->getAttr("ignore_index")).getInt();
}

Value scalarLike(OpBuilder &b, Location loc, Type type, double value) {
  auto t = cast<RankedTensorType>(type);
  return ConstantOp::create(
      b, loc, t,
      DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), value)));
}

struct AccumulateGradientsPass
    : accel::impl::AccumulateGradientsPassBase<AccumulateGradientsPass> {
  using AccumulateGradientsPassBase::AccumulateGradientsPassBase;

  void runOnOperation() override {
    if (accumulate == 1)
      return;
    FailureOr<GradientForm> form =
        readGradientForm(getOperation(), getArgument());
    if (failed(form))
      return signalPassFailure();
    if (accumulate < 1) {
      form->func.emitOpError(getArgument())
          << ": accumulate must be at least 1, not "
          << static_cast<int64_t>(accumulate);
      return signalPassFailure();
    }
    if (failed(accumulateInto(*form)))
      return signalPassFailure();
  }

private:
  /// The batch inputs: every accel.input but the step and the cotangent.
  SmallVector<unsigned> batchInputs(func::FuncOp f) {
    SmallVector<unsigned> out;
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (auto name = f.getArgAttrOfType<StringAttr>(i, kInputAttr))
        if (name.getValue() != kStepInput && name.getValue() != kLossGradInput)
          out.push_back(i);
    return out;
  }

  /// How the step's loss combines its micro-batches' losses: with a count
  /// (global normalization of a cross-entropy) or as their mean.
  FailureOr<bool> usesGlobalCount(const GradientForm &form) {
    func::FuncOp f = form.func;
    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    Operation *lossOp = ret.getOperand(form.loss).getDefiningOp();
    SmallVector<Operation *> counting;
    f.walk([&](Operation *op) {
      if (isCountingLoss(op))
        counting.push_back(op);
    });
    if (normalization == LossNormalization::PerMicroBatch || counting.empty())
      return false;
    if (!lossOp || !isCountingLoss(lossOp))
      return (lossOp ? lossOp->emitOpError() : f.emitOpError())
             << getArgument()
             << ": normalization=global divides a cross-entropy by the "
                "count of the whole step, but the loss is not the "
                "cross-entropy itself (it is "
             << (lossOp ? lossOp->getName().getStringRef() : "an argument")
             << "); use normalization=per-micro-batch";
    std::optional<unsigned> labels = findArgument(f, kInputAttr, kLabelsInput);
    for (Operation *op : counting) {
      if (!countOf(op).empty())
        return op->emitOpError(getArgument())
               << ": already divides by a count of its own";
      if (!labels || labelsOf(op) != f.getArgument(*labels))
        return op->emitOpError(getArgument())
               << ": a cross-entropy on something other than the step's "
                  "labels cannot be normalized over the step";
      if (ignoreIndexOf(op) != ignoreIndexOf(counting.front()))
        return op->emitOpError(getArgument())
               << ": cross-entropies with different ignore_index cannot "
                  "share the step's count";
    }
    return true;
  }

  LogicalResult accumulateInto(GradientForm &form) {
    func::FuncOp f = form.func;
    int64_t n = accumulate;
    SmallVector<unsigned> inputs = batchInputs(f);
    // Every batch input leads with the micro-batch size.
    SmallVector<Type> argTypes(f.getArgumentTypes());
    for (unsigned i : inputs) {
      auto type = dyn_cast<RankedTensorType>(argTypes[i]);
      if (!type || type.getRank() == 0)
        return f.emitOpError(getArgument())
               << ": input '"
               << f.getArgAttrOfType<StringAttr>(i, kInputAttr).getValue()
               << "' has no batch dim to accumulate over";
      SmallVector<int64_t> shape(type.getShape());
      shape[0] *= n;
      argTypes[i] = type.clone(shape);
    }
    // Every input is a batch the labels lead (the trainer fills them so);
    // one that is not (a mask, position ids) cannot be split.
    std::optional<unsigned> labels = findArgument(f, kInputAttr, kLabelsInput);
    std::optional<unsigned> stepIndex = findArgument(f, kInputAttr, kStepInput);
    if (!labels || !stepIndex)
      return f.emitOpError(getArgument())
             << ": needs the step's '" << kLabelsInput << "' and '"
             << kStepInput << "' inputs";
    int64_t batch =
        cast<RankedTensorType>(f.getArgument(*labels).getType()).getDimSize(0);
    for (unsigned i : inputs)
      if (cast<RankedTensorType>(f.getArgument(i).getType()).getDimSize(0) !=
          batch)
        return f.emitOpError(getArgument())
               << ": input '"
               << f.getArgAttrOfType<StringAttr>(i, kInputAttr).getValue()
               << "' " << f.getArgument(i).getType()
               << " does not lead with the batch of the labels (" << batch
               << "), so it cannot be split into micro-batches";
    if (f.getNumResults() != 1 + form.grads.size())
      return f.emitOpError(getArgument())
             << ": the step returns more than its loss and gradients; "
                "accumulate before the passes that add results";
    FailureOr<bool> global = usesGlobalCount(form);
    if (failed(global))
      return failure();

    // The new body: the step's inputs at n times the batch, then each
    // micro-batch's computation in turn.
    Block &old = f.getBody().front();
    auto oldReturn = cast<func::ReturnOp>(old.getTerminator());
    auto *body = new Block();
    f.getBody().push_back(body);
    for (Type t : argTypes)
      body->addArgument(t, f.getLoc());
    OpBuilder b = OpBuilder::atBlockEnd(body);
    Location loc = f.getLoc();
    Value seed = body->getArgument(form.lossGrad);
    auto step = cast<BlockArgument>(body->getArgument(*stepIndex));
    auto stepType = cast<RankedTensorType>(step.getType());
    auto i64Scalar = [&](int64_t v) -> Value {
      return ConstantOp::create(b, loc, stepType,
                                DenseElementsAttr::get(stepType, v));
    };
    Value count;
    if (*global) {
      Operation &anyLoss = *llvm::find_if(
          old, [](Operation &op) { return isCountingLoss(&op); });
      count = buildCountedLabels(b, loc, body->getArgument(*labels),
                                 ignoreIndexOf(&anyLoss));
    }
    // Without a count, each micro-batch's loss and gradient weigh 1/n.
    Value microSeed = seed;
    if (!*global)
      microSeed = MulOp::create(b, loc, seed,
                                scalarLike(b, loc, seed.getType(), 1.0 / n));

    // What does not depend on the batch, the step or the cotangent (a
    // weight's transpose or cast, a constant) is computed once, before the
    // micro-batches.
    IRMapping shared;
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      shared.map(old.getArgument(i), body->getArgument(i));
    DenseSet<Value> varying = {old.getArgument(form.lossGrad),
                               old.getArgument(step.getArgNumber())};
    for (unsigned i : inputs)
      varying.insert(old.getArgument(i));
    DenseSet<Operation *> perMicroBatch;
    for (Operation &op : old.without_terminator()) {
      if (op.getNumRegions() == 0 &&
          llvm::none_of(op.getOperands(),
                        [&](Value v) { return varying.contains(v); })) {
        b.clone(op, shared);
        continue;
      }
      perMicroBatch.insert(&op);
      varying.insert(op.result_begin(), op.result_end());
    }

    bool hasDropout = llvm::any_of(
        perMicroBatch, [](Operation *op) { return isa<DropoutOp>(op); });
    Value firstStep =
        hasDropout ? MulOp::create(b, loc, step, i64Scalar(n)).getResult()
                   : Value();

    Value lossSum;
    SmallVector<Value> gradSums(form.grads.size());
    for (int64_t k = 0; k < n; ++k) {
      IRMapping map = shared;
      map.map(old.getArgument(form.lossGrad), microSeed);
      // Micro-batch k: samples k, n + k, 2n + k, ... ([b*n, ...] viewed as
      // [b, n, ...], column k), so a block of rows over ranks holds its
      // share of every micro-batch.
      for (unsigned i : inputs) {
        auto whole = cast<RankedTensorType>(argTypes[i]);
        auto micro = cast<RankedTensorType>(f.getArgument(i).getType());
        SmallVector<int64_t> columns(micro.getShape());
        columns.insert(columns.begin() + 1, n);
        Value grid = ReshapeOp::create(b, loc, whole.clone(columns),
                                       body->getArgument(i));
        SmallVector<int64_t> start(columns.size(), 0), limit(columns),
            stride(columns.size(), 1);
        start[1] = k;
        limit[1] = k + 1;
        Value column = SliceOp::create(
            b, loc, grid, b.getDenseI64ArrayAttr(start),
            b.getDenseI64ArrayAttr(limit), b.getDenseI64ArrayAttr(stride));
        map.map(old.getArgument(i), ReshapeOp::create(b, loc, micro, column));
      }
      // Dropout in micro-batch k of step s draws the mask of step s*n + k.
      Value microStep = firstStep;
      if (hasDropout && k > 0)
        microStep = AddOp::create(b, loc, firstStep, i64Scalar(k));
      for (Operation &op : old.without_terminator()) {
        if (!perMicroBatch.contains(&op))
          continue;
        Operation *copy = b.clone(op, map);
        if (auto dropout = dyn_cast<DropoutOp>(copy);
            dropout && dropout.getStep() == step)
          dropout.getStepMutable().assign(microStep);
        if (count && isCountingLoss(copy))
          countOf(copy).assign(count);
      }
      Value loss = map.lookup(oldReturn.getOperand(form.loss));
      lossSum = k == 0 ? loss : AddOp::create(b, loc, lossSum, loss);
      for (auto [sum, g] : llvm::zip(gradSums, form.grads)) {
        Value grad = map.lookup(oldReturn.getOperand(g));
        sum = k == 0 ? grad : AddOp::create(b, loc, sum, grad).getResult();
      }
    }
    if (!*global)
      lossSum = MulOp::create(b, loc, lossSum,
                              scalarLike(b, loc, lossSum.getType(), 1.0 / n));

    SmallVector<Value> results(oldReturn.getOperands());
    results[form.loss] = lossSum;
    for (auto [sum, g] : llvm::zip(gradSums, form.grads))
      results[g] = sum;
    func::ReturnOp::create(b, oldReturn.getLoc(), results);
    // The new body replaces the old; the signature keeps its attributes.
    old.dropAllDefinedValueUses();
    old.erase();
    f.setType(FunctionType::get(f.getContext(), argTypes, f.getResultTypes()));
    return success();
  }
};

} // namespace
