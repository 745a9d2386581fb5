//===- BuildLossPass.cpp - The loss of a forward function -----------------===//
//
// The first stage of the training step: which parameters train, the loss
// taken of the forward function's output, @eval_step, and @train_step in
// the loss form that accel-add-gradients differentiates.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/ReverseSweep.h"
#include "passes/Training/StepSignature.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Regex.h"

#include <cmath>

namespace accel {
#define GEN_PASS_DEF_BUILDLOSSPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// Where the forward function's arguments go in the training signature.
struct ForwardSignature {
  SmallVector<unsigned> params; // trained: selected floating-point params
  SmallVector<unsigned> others; // every other argument, in order
  DenseSet<unsigned> frozen;    // params among `others`
};

/// The regexes of a comma-separated list.
SmallVector<std::string> splitPatterns(StringRef list) {
  SmallVector<StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/false);
  return llvm::map_to_vector(parts, [](StringRef p) { return p.str(); });
}

/// The bytes a tensor type holds.
int64_t bytesOf(Type type) { return tensorBytes(cast<RankedTensorType>(type)); }

struct BuildLossPass : accel::impl::BuildLossPassBase<BuildLossPass> {
  using BuildLossPassBase::BuildLossPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp forward = findForward(module);
    if (!forward)
      return signalPassFailure();
    if (!std::isfinite(labelSmoothing) || labelSmoothing < 0 ||
        labelSmoothing > 1) {
      forward.emitOpError(
          "accel-build-loss: label-smoothing must be in [0, 1]");
      return signalPassFailure();
    }
    if (forward.getNumResults() != 1) {
      forward.emitOpError("needs exactly one result (the model output the "
                          "loss is taken of) to build a training step");
      return signalPassFailure();
    }
    for (StringRef name : {kTrainStepName.data(), "eval_step"})
      if (module.lookupSymbol(name)) {
        module.emitError("the module already has a function '") << name << "'";
        return signalPassFailure();
      }
    FailureOr<ForwardSignature> sig = classify(forward);
    if (failed(sig))
      return signalPassFailure();
    FailureOr<Type> labelsType = labelsTypeFor(forward);
    if (failed(labelsType))
      return signalPassFailure();
    if (failed(buildEvalStep(forward, *sig, *labelsType)) ||
        failed(buildLossForm(forward, *sig, *labelsType)))
      return signalPassFailure();
    // The steps keep the model's facts (its Hugging Face config); with a
    // class count a token loader checks ids before running.
    Builder b(&getContext());
    NamedAttrList metadata;
    if (auto given = forward->getAttrOfType<DictionaryAttr>(kMetadataAttr))
      metadata.append(given.getValue());
    if (loss == LossKind::CrossEntropy) {
      auto logits = cast<RankedTensorType>(forward.getResultTypes()[0]);
      metadata.set("num_classes",
                   b.getI64IntegerAttr(logits.getShape().back()));
    }
    if (!metadata.empty())
      for (StringRef name : {kTrainStepName.data(), "eval_step"})
        module.lookupSymbol(name)->setAttr(
            kMetadataAttr, metadata.getDictionary(&getContext()));
  }

private:
  func::FuncOp findForward(ModuleOp module) {
    SmallVector<func::FuncOp> candidates;
    for (auto f : module.getOps<func::FuncOp>())
      if (!f.isExternal() &&
          (functionName.empty() || f.getSymName() == functionName))
        candidates.push_back(f);
    if (candidates.size() == 1)
      return candidates.front();
    if (functionName.empty())
      module.emitError("the module has ")
          << candidates.size()
          << " functions; name the forward one with function=<name>";
    else
      module.emitError("the module has no function '") << functionName << "'";
    return nullptr;
  }

  /// Which parameters train: every floating-point accel.param, narrowed by
  /// `trainable` and `freeze`; never a buffer.
  FailureOr<ForwardSignature> classify(func::FuncOp f) {
    if (auto why = f->getAttrOfType<StringAttr>(kUntrainableAttr))
      return f.emitOpError("cannot be trained: ") << why.getValue();
    if (f->hasAttr(kUnrecordedParamsAttr) && trainable.empty())
      return f.emitOpError(
          "has weights whose export did not record which are parameters and "
          "which are buffers (the TorchScript exporter, or another "
          "producer); name the parameters with trainable=<regex>[,<regex>] "
          "(trainable=.* trains every weight), or export with "
          "torch.onnx.export(..., dynamo=True, optimize=False)");
    auto compile = [&](ArrayRef<std::string> patterns, StringRef option,
                       SmallVectorImpl<llvm::Regex> &out) -> LogicalResult {
      for (const std::string &p : patterns) {
        llvm::Regex re(p);
        std::string why;
        if (!re.isValid(why))
          return f.emitOpError("accel-build-loss: ")
                 << option << "='" << p << "' is not a regex: " << why;
        out.push_back(std::move(re));
      }
      return success();
    };
    SmallVector<llvm::Regex> keep, drop;
    SmallVector<std::string> keepPatterns = splitPatterns(trainable),
                             dropPatterns = splitPatterns(freeze);
    if (failed(compile(keepPatterns, "trainable", keep)) ||
        failed(compile(dropPatterns, "freeze", drop)))
      return failure();

    SmallVector<std::pair<unsigned, std::string>> candidates;
    SmallVector<std::string> buffers;
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto name = f.getArgAttrOfType<StringAttr>(i, kParamAttr);
      if (name && isFloatTensor(f.getArgument(i).getType()))
        candidates.push_back({i, name.str()});
      if (auto buffer = f.getArgAttrOfType<StringAttr>(i, kBufferAttr))
        buffers.push_back(buffer.str());
    }
    if (candidates.empty())
      return f.emitOpError("has no parameter to train (no floating-point "
                           "accel.param argument)");
    // Every expression must select something: a typo must not silently
    // train (or freeze) nothing.
    auto checkMatches = [&](ArrayRef<std::string> patterns,
                            MutableArrayRef<llvm::Regex> res,
                            StringRef option) -> LogicalResult {
      for (auto [p, re] : llvm::zip(patterns, res)) {
        if (llvm::any_of(candidates,
                         [&](auto &c) { return re.match(c.second); }))
          continue;
        std::string known;
        for (size_t k = 0; k < candidates.size() && k < 4; ++k)
          known += (k ? ", '" : "'") + candidates[k].second + "'";
        if (candidates.size() > 4)
          known += ", ...";
        auto diag = f.emitOpError("accel-build-loss: ")
                    << option << "='" << p << "' matches no parameter";
        if (llvm::any_of(buffers, [&](auto &b) { return re.match(b); }))
          diag << " (only buffers, which never train)";
        diag << "; the " << candidates.size() << " parameters are "
             << (known.empty() ? "none" : known);
        return failure();
      }
      return success();
    };
    if (failed(checkMatches(keepPatterns, keep, "trainable")) ||
        failed(checkMatches(dropPatterns, drop, "freeze")))
      return failure();

    ForwardSignature sig;
    int64_t trainedBytes = 0, trainedElements = 0, frozenBytes = 0;
    DenseSet<unsigned> trained;
    for (auto &[i, name] : candidates) {
      auto matches = [&](MutableArrayRef<llvm::Regex> res) {
        return llvm::any_of(res,
                            [&](llvm::Regex &re) { return re.match(name); });
      };
      Type type = f.getArgument(i).getType();
      if ((keep.empty() || matches(keep)) && !matches(drop)) {
        trained.insert(i);
        sig.params.push_back(i);
        trainedBytes += bytesOf(type);
        trainedElements += cast<RankedTensorType>(type).getNumElements();
      } else {
        sig.frozen.insert(i);
        frozenBytes += bytesOf(type);
      }
    }
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (!trained.contains(i))
        sig.others.push_back(i);
    if (sig.params.empty())
      return f.emitOpError("has no parameter to train (all ")
             << candidates.size() << " are frozen by trainable/freeze)";
    if (reportTrainable)
      f.emitRemark("trains ")
          << sig.params.size() << " of " << candidates.size() << " parameters ("
          << trainedElements << " elements, " << trainedBytes
          << " bytes); frozen: " << candidates.size() - sig.params.size()
          << " (" << frozenBytes << " bytes); buffers: " << buffers.size();
    return sig;
  }

  /// int64 [...] for logits [..., C]; the output's own type for mse.
  FailureOr<Type> labelsTypeFor(func::FuncOp f) {
    auto out = dyn_cast<RankedTensorType>(f.getResultTypes()[0]);
    if (!out || !isa<FloatType>(out.getElementType()))
      return f.emitOpError("result must be a floating-point tensor to take "
                           "a loss of, not ")
             << f.getResultTypes()[0];
    if (loss == LossKind::MeanSquaredError)
      return Type(out);
    if (out.getRank() < 1)
      return f.emitOpError("cross-entropy needs logits with a class dim, not ")
             << out;
    return Type(RankedTensorType::get(out.getShape().drop_back(),
                                      IntegerType::get(&getContext(), 64)));
  }

  /// Clones the forward body into `entry` and appends the loss; returns the
  /// loss and records the cloned ops (for the reverse sweep).
  Value buildLoss(OpBuilder &b, func::FuncOp forward, IRMapping &map,
                  Value labels, SmallVectorImpl<Operation *> &ops,
                  bool fuseHead) {
    for (Operation &op : forward.getBody().front().without_terminator())
      ops.push_back(b.clone(op, map));
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    Value output = map.lookup(ret.getOperand(0));
    Location loc = forward.getLoc();
    // A bias-free linear head feeding cross-entropy becomes one blockwise
    // op that never holds the whole logits.
    auto head = output.getDefiningOp<LinearOp>();
    if (fuseHead && loss == LossKind::CrossEntropy && head && !head.getBias() &&
        output.use_empty()) {
      auto fused = LinearCrossEntropyOp::create(
          b, loc, head.getInput(), head.getWeight(), labels, Value(), Value(),
          ignoreIndex, APFloat(double(labelSmoothing)), head.getWeightInOut());
      llvm::erase(ops, head.getOperation());
      head.erase();
      ops.push_back(fused);
      return fused.getLoss();
    }
    Operation *lossOp;
    if (loss == LossKind::MeanSquaredError) {
      auto diff = SubOp::create(b, loc, output, labels);
      ops.push_back(diff);
      auto squared = MulOp::create(b, loc, diff, diff);
      ops.push_back(squared);
      auto type = cast<RankedTensorType>(output.getType());
      auto axes = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
      lossOp = ReduceMeanOp::create(b, loc, squared,
                                    b.getDenseI64ArrayAttr(axes), false);
    } else {
      lossOp =
          CrossEntropyOp::create(b, loc, output, labels, Value(), ignoreIndex,
                                 APFloat(double(labelSmoothing)));
    }
    ops.push_back(lossOp);
    return lossOp->getResult(0);
  }

  LogicalResult buildEvalStep(func::FuncOp forward, const ForwardSignature &sig,
                              Type labelsType) {
    OpBuilder b(forward.getContext());
    b.setInsertionPointAfter(forward);
    SmallVector<Type> args(forward.getArgumentTypes());
    args.push_back(labelsType);
    auto lossType = RankedTensorType::get(
        {},
        cast<RankedTensorType>(forward.getResultTypes()[0]).getElementType());
    auto g = func::FuncOp::create(b, forward.getLoc(), "eval_step",
                                  b.getFunctionType(args, {lossType}));
    Block *entry = g.addEntryBlock();
    IRMapping map;
    for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
      g.setArgAttrs(i, forward.getArgAttrDict(i));
      map.map(forward.getArgument(i), entry->getArgument(i));
    }
    g.setArgAttr(forward.getNumArguments(), kInputAttr,
                 b.getStringAttr("labels"));
    g.setResultAttr(0, kOutputAttr, b.getStringAttr("loss"));
    b.setInsertionPointToEnd(entry);
    SmallVector<Operation *> ops;
    Value lossValue = buildLoss(b, forward, map, entry->getArguments().back(),
                                ops, /*fuseHead=*/false);
    func::ReturnOp::create(b, forward.getLoc(), lossValue);
    // Evaluation runs the model in eval mode: no dropout.
    for (Operation *op : ops)
      if (auto dropout = dyn_cast<DropoutOp>(op)) {
        dropout.replaceAllUsesWith(dropout.getOperand());
        dropout.erase();
      }
    return success();
  }

  /// @train_step(trained params..., step, other arguments..., labels) ->
  /// loss: the forward computation and the loss; dropout draws a new mask
  /// every step.
  LogicalResult buildLossForm(func::FuncOp forward, const ForwardSignature &sig,
                              Type labelsType) {
    OpBuilder b(forward.getContext());
    b.setInsertionPointAfter(forward);
    Location loc = forward.getLoc();
    auto stepType = RankedTensorType::get({}, b.getI64Type());
    SmallVector<Type> args;
    for (unsigned i : sig.params)
      args.push_back(forward.getArgument(i).getType());
    args.push_back(stepType);
    for (unsigned i : sig.others)
      args.push_back(forward.getArgument(i).getType());
    args.push_back(labelsType);
    auto lossType = RankedTensorType::get(
        {},
        cast<RankedTensorType>(forward.getResultTypes()[0]).getElementType());
    auto g = func::FuncOp::create(b, loc, kTrainStepName,
                                  b.getFunctionType(args, {lossType}));
    Block *entry = g.addEntryBlock();
    IRMapping map;
    auto bind = [&](unsigned from, unsigned to) {
      g.setArgAttrs(to, forward.getArgAttrDict(from));
      if (sig.frozen.contains(from))
        g.setArgAttr(to, kFrozenAttr, b.getUnitAttr());
      map.map(forward.getArgument(from), entry->getArgument(to));
    };
    unsigned index = 0;
    for (unsigned i : sig.params)
      bind(i, index++);
    Value step = entry->getArgument(index);
    g.setArgAttr(index++, kInputAttr, b.getStringAttr(kStepInput));
    for (unsigned i : sig.others)
      bind(i, index++);
    Value labels = entry->getArgument(index);
    g.setArgAttr(index, kInputAttr, b.getStringAttr(kLabelsInput));
    g.setResultAttr(0, kOutputAttr, b.getStringAttr(kLossOutput));

    b.setInsertionPointToEnd(entry);
    SmallVector<Operation *> ops;
    Value lossValue = buildLoss(b, forward, map, labels, ops, fuseLmHead);
    for (Operation *op : ops)
      if (auto dropout = dyn_cast<DropoutOp>(op); dropout && !dropout.getStep())
        dropout.getStepMutable().assign(step);
    func::ReturnOp::create(b, loc, lossValue);
    g.setType(b.getFunctionType(args, {lossValue.getType()}));
    return success();
  }
};

} // namespace
