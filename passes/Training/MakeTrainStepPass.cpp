//===- MakeTrainStepPass.cpp - Loss, gradients and optimizer updates -----===//
//
// Builds @train_step and @eval_step from a forward function. The step is
// assembled from accel ops only (the loss, the reverse sweep, the global
// norm, the schedule, one update per parameter), so later passes rewrite it
// like any other function.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/ReverseSweep.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <limits>

namespace accel {
#define GEN_PASS_DEF_MAKETRAINSTEPPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// Where the forward function's arguments go in the training signature.
struct ForwardSignature {
  SmallVector<unsigned> params;    // trained: selected floating-point params
  SmallVector<unsigned> others;    // every other argument, in order
  SmallVector<std::string> paramNames;
};

/// The bytes a tensor type holds.
int64_t bytesOf(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() *
         llvm::divideCeil(t.getElementType().getIntOrFloatBitWidth(), 8);
}

/// The optimizer state counting applied updates (with skip-nonfinite).
constexpr llvm::StringLiteral kAppliedStepsName = "optimizer.applied_steps";
/// The step's flag output when it found a non-finite loss or gradient norm
/// and left the state unchanged: the run skips the step, or stops.
constexpr llvm::StringLiteral kSkippedOutput = "found_inf";
constexpr llvm::StringLiteral kStoppedOutput = "nonfinite";

Value f32Scalar(OpBuilder &b, Location loc, double value) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, static_cast<float>(value)));
}

struct MakeTrainStepPass
    : accel::impl::MakeTrainStepPassBase<MakeTrainStepPass> {
  using MakeTrainStepPassBase::MakeTrainStepPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp forward = findForward(module);
    if (!forward || failed(checkOptions(forward)))
      return signalPassFailure();
    if (forward.getNumResults() != 1) {
      forward.emitOpError("needs exactly one result (the model output the "
                          "loss is taken of) to build a training step");
      return signalPassFailure();
    }
    for (StringRef name : {"train_step", "eval_step"})
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
        failed(buildTrainStep(forward, *sig, *labelsType)))
      return signalPassFailure();
    // The steps keep the model's facts (its Hugging Face config); with a
    // class count a token loader checks ids before running.
    Builder b(&getContext());
    NamedAttrList metadata;
    if (auto given = forward->getAttrOfType<DictionaryAttr>(kMetadataAttr))
      metadata.append(given.getValue());
    if (loss == "cross-entropy") {
      auto logits = cast<RankedTensorType>(forward.getResultTypes()[0]);
      metadata.set("num_classes",
                   b.getI64IntegerAttr(logits.getShape().back()));
    }
    if (!metadata.empty())
      for (StringRef name : {"train_step", "eval_step"})
        module.lookupSymbol(name)->setAttr(kMetadataAttr,
                                           metadata.getDictionary(&getContext()));
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

  LogicalResult checkOptions(func::FuncOp f) {
    auto bad = [&](const Twine &what) {
      return f.emitOpError("accel-make-train-step: ") << what;
    };
    if (loss != "cross-entropy" && loss != "mse")
      return bad("unknown loss '" + loss + "' (cross-entropy or mse)");
    if (optimizer != "adamw" && optimizer != "sgd")
      return bad("unknown optimizer '" + optimizer + "' (adamw or sgd)");
    if (!symbolizeLrSchedule(schedule))
      return bad("unknown schedule '" + schedule +
                 "' (constant, constant_with_warmup, linear or cosine)");
    if ((schedule == "linear" || schedule == "cosine") && totalSteps <= 0)
      return bad("schedule '" + schedule + "' needs total-steps");
    // Every number finite and, where torch.optim or the schedules say so,
    // non-negative (a NaN passes every comparison, so it is named first).
    struct Number {
      const char *name;
      double value;
      bool nonNegative;
    };
    for (const Number &n :
         {Number{"lr", lr, true}, {"weight-decay", weightDecay, true},
          {"clip-norm", clipNorm, true}, {"eps", epsilon, true},
          {"momentum", momentum, true}, {"dampening", dampening, false},
          {"beta1", beta1, false}, {"beta2", beta2, false},
          {"num-cycles", numCycles, true},
          {"label-smoothing", labelSmoothing, false}}) {
      if (!std::isfinite(n.value))
        return bad(std::string(n.name) + " must be a finite number, not " +
                   std::to_string(n.value));
      if (n.nonNegative && n.value < 0)
        return bad(std::string(n.name) + " must be non-negative, not " +
                   std::to_string(n.value) + " (as torch.optim requires)");
    }
    if (warmupSteps < 0)
      return bad("warmup-steps must be non-negative");
    if (labelSmoothing < 0 || labelSmoothing > 1)
      return bad("label-smoothing must be in [0, 1]");
    if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
      return bad("beta1 and beta2 must be in [0, 1)");
    if (nesterov && (momentum <= 0 || dampening != 0))
      return bad("nesterov needs momentum > 0 and no dampening, as in "
                 "torch.optim.SGD");
    return success();
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
          return f.emitOpError("accel-make-train-step: ")
                 << option << "='" << p << "' is not a regex: " << why;
        out.push_back(std::move(re));
      }
      return success();
    };
    SmallVector<llvm::Regex> keep, drop;
    if (failed(compile(trainable, "trainable", keep)) ||
        failed(compile(freeze, "freeze", drop)))
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
        auto diag = f.emitOpError("accel-make-train-step: ")
                    << option << "='" << p << "' matches no parameter";
        if (llvm::any_of(buffers, [&](auto &b) { return re.match(b); }))
          diag << " (only buffers, which never train)";
        diag << "; the " << candidates.size() << " parameters are "
             << (known.empty() ? "none" : known);
        return failure();
      }
      return success();
    };
    if (failed(checkMatches(trainable, keep, "trainable")) ||
        failed(checkMatches(freeze, drop, "freeze")))
      return failure();

    ForwardSignature sig;
    int64_t trainedBytes = 0, trainedElements = 0, frozenBytes = 0;
    DenseSet<unsigned> trained;
    for (auto &[i, name] : candidates) {
      auto matches = [&](MutableArrayRef<llvm::Regex> res) {
        return llvm::any_of(res, [&](llvm::Regex &re) { return re.match(name); });
      };
      Type type = f.getArgument(i).getType();
      if ((keep.empty() || matches(keep)) && !matches(drop)) {
        trained.insert(i);
        sig.params.push_back(i);
        sig.paramNames.push_back(name);
        trainedBytes += bytesOf(type);
        trainedElements += cast<RankedTensorType>(type).getNumElements();
      } else {
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
          << sig.params.size() << " of " << candidates.size()
          << " parameters (" << trainedElements << " elements, "
          << trainedBytes << " bytes); frozen: "
          << candidates.size() - sig.params.size() << " (" << frozenBytes
          << " bytes); buffers: " << buffers.size();
    return sig;
  }

  /// int64 [...] for logits [..., C]; the output's own type for mse.
  FailureOr<Type> labelsTypeFor(func::FuncOp f) {
    auto out = dyn_cast<RankedTensorType>(f.getResultTypes()[0]);
    if (!out || !isa<FloatType>(out.getElementType()))
      return f.emitOpError("result must be a floating-point tensor to take "
                           "a loss of, not ")
             << f.getResultTypes()[0];
    if (loss == "mse")
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
    if (fuseHead && loss == "cross-entropy" && head && !head.getBias() &&
        output.use_empty()) {
      auto fused = LinearCrossEntropyOp::create(
          b, loc, head.getInput(), head.getWeight(), labels, Value(), ignoreIndex,
          APFloat(double(labelSmoothing)), head.getWeightInOut());
      llvm::erase(ops, head.getOperation());
      head.erase();
      ops.push_back(fused);
      return fused.getLoss();
    }
    Operation *lossOp;
    if (loss == "mse") {
      auto diff = SubOp::create(b, loc, output, labels);
      ops.push_back(diff);
      auto squared = MulOp::create(b, loc, diff, diff);
      ops.push_back(squared);
      auto type = cast<RankedTensorType>(output.getType());
      auto axes = llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
      lossOp = ReduceMeanOp::create(b, loc, squared,
                                    b.getDenseI64ArrayAttr(axes), false);
    } else {
      lossOp = CrossEntropyOp::create(b, loc, output, labels, Value(), ignoreIndex,
                                      APFloat(double(labelSmoothing)));
    }
    ops.push_back(lossOp);
    return lossOp->getResult(0);
  }

  /// Copies the forward's attribute of argument `from` to `to` of `g`.
  void copyArgAttrs(func::FuncOp forward, unsigned from, func::FuncOp g,
                    unsigned to) {
    g.setArgAttrs(to, forward.getArgAttrDict(from));
  }

  LogicalResult buildEvalStep(func::FuncOp forward, const ForwardSignature &sig,
                              Type labelsType) {
    OpBuilder b(forward.getContext());
    b.setInsertionPointAfter(forward);
    SmallVector<Type> args(forward.getArgumentTypes());
    args.push_back(labelsType);
    auto lossType = RankedTensorType::get(
        {}, cast<RankedTensorType>(forward.getResultTypes()[0]).getElementType());
    auto g = func::FuncOp::create(b, forward.getLoc(), "eval_step",
                                  b.getFunctionType(args, {lossType}));
    Block *entry = g.addEntryBlock();
    IRMapping map;
    for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
      copyArgAttrs(forward, i, g, i);
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

  /// Optimizer state names per parameter, in torch.optim's terms.
  SmallVector<StringRef> stateSuffixes() {
    if (optimizer == "adamw")
      return {"exp_avg", "exp_avg_sq"};
    if (momentum != 0)
      return {"momentum_buffer"};
    return {};
  }

  LogicalResult buildTrainStep(func::FuncOp forward,
                               const ForwardSignature &sig, Type labelsType) {
    MLIRContext *ctx = forward.getContext();
    OpBuilder b(ctx);
    b.setInsertionPointAfter(forward);
    Location loc = forward.getLoc();
    SmallVector<StringRef> suffixes = stateSuffixes();
    auto stepType = RankedTensorType::get({}, b.getI64Type());
    auto f32 = RankedTensorType::get({}, b.getF32Type());
    auto f64 = RankedTensorType::get({}, b.getF64Type());
    auto i1 = RankedTensorType::get({}, b.getI1Type());

    // Signature: params, states (per suffix, per param), step, the other
    // forward arguments, labels.
    SmallVector<Type> args, results;
    for (unsigned i : sig.params)
      args.push_back(forward.getArgument(i).getType());
    for (size_t s = 0; s < suffixes.size(); ++s)
      for (unsigned i : sig.params)
        args.push_back(forward.getArgument(i).getType());
    if (skipNonfinite)
      args.push_back(stepType); // the count of applied updates
    args.push_back(stepType);
    for (unsigned i : sig.others)
      args.push_back(forward.getArgument(i).getType());
    args.push_back(labelsType);
    results = {f32, f64, f32, i1};
    for (size_t s = 0; s <= suffixes.size(); ++s)
      for (unsigned i : sig.params)
        results.push_back(forward.getArgument(i).getType());
    if (skipNonfinite)
      results.push_back(stepType);

    auto g = func::FuncOp::create(b, loc, "train_step",
                                  b.getFunctionType(args, results));
    Block *entry = g.addEntryBlock();
    size_t numParams = sig.params.size();
    IRMapping map;
    unsigned argIndex = 0;
    SmallVector<Value> params;
    for (unsigned i : sig.params) {
      copyArgAttrs(forward, i, g, argIndex);
      params.push_back(entry->getArgument(argIndex));
      map.map(forward.getArgument(i), entry->getArgument(argIndex++));
    }
    SmallVector<SmallVector<Value>> states(suffixes.size());
    for (size_t s = 0; s < suffixes.size(); ++s)
      for (size_t p = 0; p < numParams; ++p) {
        g.setArgAttr(argIndex, kStateAttr,
                     b.getStringAttr(sig.paramNames[p] + "." +
                                     suffixes[s].str()));
        states[s].push_back(entry->getArgument(argIndex++));
      }
    // Skipped steps do not count as optimizer steps (as with AMP's
    // GradScaler, after which HF's Trainer does not step the scheduler
    // either): AdamW's bias correction, SGD's first step and the schedule
    // then follow a count of applied updates kept as optimizer state.
    Value applied;
    if (skipNonfinite) {
      applied = entry->getArgument(argIndex);
      g.setArgAttr(argIndex++, kStateAttr, b.getStringAttr(kAppliedStepsName));
    }
    Value step = entry->getArgument(argIndex);
    g.setArgAttr(argIndex++, kInputAttr, b.getStringAttr("step"));
    for (unsigned i : sig.others) {
      copyArgAttrs(forward, i, g, argIndex);
      map.map(forward.getArgument(i), entry->getArgument(argIndex++));
    }
    Value labels = entry->getArgument(argIndex);
    g.setArgAttr(argIndex, kInputAttr, b.getStringAttr("labels"));

    // Forward, loss and gradients. Dropout draws a new mask every step.
    b.setInsertionPointToEnd(entry);
    SmallVector<Operation *> ops;
    Value lossValue = buildLoss(b, forward, map, labels, ops, fuseLmHead);
    for (Operation *op : ops)
      if (auto dropout = dyn_cast<DropoutOp>(op); dropout && !dropout.getStep())
        dropout.getStepMutable().assign(step);
    auto lossType = cast<RankedTensorType>(lossValue.getType());
    Value seed = ConstantOp::create(
        b, loc, lossType,
        DenseElementsAttr::get(lossType,
                               b.getFloatAttr(lossType.getElementType(), 1.0)
                                   .getValue()));
    FailureOr<SmallVector<Value>> grads =
        buildReverseSweep(b, ops, lossValue, seed, params, loc);
    if (failed(grads)) {
      g.erase();
      return failure();
    }
    if (lossType.getElementType() != b.getF32Type())
      lossValue = CastOp::create(b, loc, f32, lossValue);

    // Norm, clipping coefficient (as clip_grad_norm_ computes it, in fp32),
    // non-finite check, learning rate.
    Value norm = GlobalNormOp::create(b, loc, *grads);
    Value scale;
    if (clipNorm > 0) {
      // max_norm / (total + 1e-6) is Tensor.__rtruediv__ in PyTorch:
      // reciprocal, then a product.
      Value padded = AddOp::create(b, loc, norm, f32Scalar(b, loc, 1e-6));
      Value inverse = ReciprocalOp::create(b, loc, padded);
      Value coef = MulOp::create(b, loc, inverse, f32Scalar(b, loc, clipNorm));
      scale = MinOp::create(b, loc, coef, f32Scalar(b, loc, 1.0));
    }
    // A NaN or infinite gradient norm or loss leaves parameters and state
    // as they were: with skip-nonfinite the run goes on (GradScaler's skip),
    // without it the trainer stops, and in both cases nothing non-finite
    // reaches the parameters or a checkpoint.
    Value inf = f32Scalar(b, loc, std::numeric_limits<double>::infinity());
    Value normOk = CompareOp::create(b, loc, norm, inf, CompareDirection::LT);
    Value lossSize = AbsOp::create(b, loc, lossValue);
    Value lossOk = CompareOp::create(b, loc, lossSize, inf, CompareDirection::LT);
    Value no = ConstantOp::create(b, loc, i1, DenseElementsAttr::get(i1, false));
    Value finite = WhereOp::create(b, loc, normOk, lossOk, no);
    Value foundInf = NotOp::create(b, loc, finite);
    Value updateStep = step, newApplied;
    if (skipNonfinite) {
      Value one = ConstantOp::create(
          b, loc, stepType,
          DenseElementsAttr::get(stepType, static_cast<int64_t>(1)));
      Value next = AddOp::create(b, loc, applied, one);
      newApplied = WhereOp::create(b, loc, foundInf, applied, next);
      updateStep = applied;
    }
    Value lrValue = LrScheduleOp::create(
        b, loc, updateStep, *symbolizeLrSchedule(schedule),
        APFloat(double(lr)), warmupSteps, totalSteps,
        APFloat(double(numCycles)));

    // One update per parameter.
    SmallVector<Value> newParams;
    SmallVector<SmallVector<Value>> newStates(suffixes.size());
    for (size_t p = 0; p < numParams; ++p) {
      if (optimizer == "adamw") {
        auto update = AdamWOp::create(
            b, loc, params[p], (*grads)[p], states[0][p], states[1][p], lrValue,
            updateStep, scale, foundInf, APFloat(double(beta1)),
            APFloat(double(beta2)), APFloat(double(epsilon)),
            APFloat(double(weightDecay)));
        newParams.push_back(update.getNewParam());
        newStates[0].push_back(update.getNewExpAvg());
        newStates[1].push_back(update.getNewExpAvgSq());
        continue;
      }
      Value buffer = suffixes.empty() ? Value() : states[0][p];
      auto update = SgdOp::create(
          b, loc, params[p], (*grads)[p], buffer, lrValue, updateStep, scale,
          foundInf, APFloat(double(momentum)), APFloat(double(dampening)),
          APFloat(double(weightDecay)), nesterov);
      newParams.push_back(update.getNewParam());
      if (buffer)
        newStates[0].push_back(update.getNewMomentumBuffer());
    }

    SmallVector<Value> outs = {lossValue, lrValue, norm};
    SmallVector<std::string> names = {"loss", "lr", "grad_norm"};
    outs.push_back(foundInf);
    names.push_back((skipNonfinite ? kSkippedOutput : kStoppedOutput).str());
    for (auto [i, name] : llvm::enumerate(names))
      g.setResultAttr(i, kOutputAttr, b.getStringAttr(name));
    unsigned resultIndex = outs.size();
    for (size_t p = 0; p < numParams; ++p) {
      g.setResultAttr(resultIndex++, kUpdateAttr,
                      b.getStringAttr(sig.paramNames[p]));
      outs.push_back(newParams[p]);
    }
    for (size_t s = 0; s < suffixes.size(); ++s)
      for (size_t p = 0; p < numParams; ++p) {
        g.setResultAttr(resultIndex++, kUpdateAttr,
                        b.getStringAttr(sig.paramNames[p] + "." +
                                        suffixes[s].str()));
        outs.push_back(newStates[s][p]);
      }
    if (newApplied) {
      g.setResultAttr(resultIndex++, kUpdateAttr,
                      b.getStringAttr(kAppliedStepsName));
      outs.push_back(newApplied);
    }
    func::ReturnOp::create(b, loc, outs);
    return success();
  }
};

} // namespace
