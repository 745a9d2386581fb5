//===- AddOptimizerPass.cpp - Norm, clipping, schedule and updates --------===//
//
// The last stage of the training step: from the gradient form, the step
// the runtime runs. The loss's cotangent becomes 1; the global norm, the
// clipping coefficient, the non-finite gate, the learning rate and one
// update per parameter follow the gradients, each an accel op, so later
// passes rewrite the step like any other function.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Training/Passes.h"
#include "passes/Training/StepSignature.h"

#include <cmath>
#include <limits>

namespace accel {
#define GEN_PASS_DEF_ADDOPTIMIZERPASS
#include "passes/Training/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// The optimizer state counting applied updates (with skip-nonfinite).
constexpr llvm::StringLiteral kAppliedStepsName = "optimizer.applied_steps";
/// The step's flag output when it found a non-finite loss or gradient norm
/// and left the state unchanged: the run skips the step, or stops.
constexpr llvm::StringLiteral kSkippedOutput = "found_inf";
constexpr llvm::StringLiteral kStoppedOutput = "nonfinite";
/// GradScaler's state, and the output giving the scale after the step.
constexpr llvm::StringLiteral kScaleName = "scaler.scale";
constexpr llvm::StringLiteral kGrowthTrackerName = "scaler.growth_tracker";
constexpr llvm::StringLiteral kLossScaleOutput = "loss_scale";

/// Whether some op of `f` computes in fp16.
bool computesInFp16(func::FuncOp f) {
  bool found = false;
  f.walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      if (auto ranked = dyn_cast<RankedTensorType>(t))
        found |= ranked.getElementType().isF16();
    return found ? WalkResult::interrupt() : WalkResult::advance();
  });
  return found;
}

Value f32Scalar(OpBuilder &b, Location loc, double value) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, static_cast<float>(value)));
}

/// Whether the gradient norm or the loss is NaN or infinite.
Value nonFinite(OpBuilder &b, Location loc, Value norm, Value loss) {
  auto i1 = RankedTensorType::get({}, b.getI1Type());
  Value inf = f32Scalar(b, loc, std::numeric_limits<double>::infinity());
  Value normOk = CompareOp::create(b, loc, norm, inf, CompareDirection::LT);
  Value lossSize = AbsOp::create(b, loc, loss);
  Value lossOk = CompareOp::create(b, loc, lossSize, inf, CompareDirection::LT);
  Value no = ConstantOp::create(b, loc, i1, DenseElementsAttr::get(i1, false));
  Value finite = WhereOp::create(b, loc, normOk, lossOk, no);
  return NotOp::create(b, loc, finite);
}

struct AddOptimizerPass : accel::impl::AddOptimizerPassBase<AddOptimizerPass> {
  using AddOptimizerPassBase::AddOptimizerPassBase;

  void runOnOperation() override {
    FailureOr<GradientForm> form =
        readGradientForm(getOperation(), getArgument());
    if (failed(form) || failed(checkOptions(form->func)) ||
        failed(build(*form)))
      return signalPassFailure();
  }

private:
  LogicalResult checkOptions(func::FuncOp f) {
    auto bad = [&](const Twine &what) {
      return f.emitOpError(getArgument()) << ": " << what;
    };
    bool decays =
        schedule == LrSchedule::Linear || schedule == LrSchedule::Cosine;
    if (decays && totalSteps <= 0)
      return bad("schedule '" + stringifyLrSchedule(schedule) +
                 "' needs total-steps");
    // Every number finite and, where torch.optim or the schedules say so,
    // non-negative (a NaN passes every comparison, so it is named first).
    struct Number {
      const char *name;
      double value;
      bool nonNegative;
    };
    for (const Number &n : {Number{"lr", lr, true},
                            {"weight-decay", weightDecay, true},
                            {"clip-norm", clipNorm, true},
                            {"eps", epsilon, true},
                            {"momentum", momentum, true},
                            {"dampening", dampening, false},
                            {"beta1", beta1, false},
                            {"beta2", beta2, false},
                            {"num-cycles", numCycles, true}}) {
      if (!std::isfinite(n.value))
        return bad(std::string(n.name) + " must be a finite number, not " +
                   std::to_string(n.value));
      if (n.nonNegative && n.value < 0)
        return bad(std::string(n.name) + " must be non-negative, not " +
                   std::to_string(n.value) + " (as torch.optim requires)");
    }
    if (warmupSteps < 0)
      return bad("warmup-steps must be non-negative");
    if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
      return bad("beta1 and beta2 must be in [0, 1)");
    if (nesterov && (momentum <= 0 || dampening != 0))
      return bad("nesterov needs momentum > 0 and no dampening, as in "
                 "torch.optim.SGD");
    // GradScaler's own checks.
    if (!(initScale > 0) || !std::isfinite(initScale) ||
        static_cast<float>(initScale) == 0 ||
        !std::isfinite(static_cast<float>(initScale)))
      return bad("init-scale must be a positive number within fp32's range");
    if (!(growthFactor > 1) || !std::isfinite(growthFactor))
      return bad("growth-factor must be a finite number > 1");
    if (!(backoffFactor > 0 && backoffFactor < 1))
      return bad("backoff-factor must be in (0, 1)");
    if (growthInterval < 1)
      return bad("growth-interval must be a positive integer");
    return success();
  }

  /// Optimizer state names per parameter, in torch.optim's terms.
  SmallVector<StringRef> stateSuffixes() {
    if (optimizer == OptimizerKind::AdamW)
      return {"exp_avg", "exp_avg_sq"};
    if (momentum != 0)
      return {"momentum_buffer"};
    return {};
  }

  /// The loss's cotangent is 1, or the loss scale (`scale`, a scalar
  /// argument), defined where the sweep first reads it.
  void seed(func::FuncOp f, Value scale) {
    unsigned lossGrad = *findArgument(f, kInputAttr, kLossGradInput);
    BlockArgument seed = f.getArgument(lossGrad);
    // A fused head takes a cotangent of 1 as no cotangent.
    if (!scale)
      for (Operation *user : llvm::make_early_inc_range(seed.getUsers()))
        if (auto head = dyn_cast<LinearCrossEntropyOp>(user))
          head.getCotangentMutable().clear();
    Operation *first = nullptr;
    for (Operation *user : seed.getUsers())
      if (!first || user->isBeforeInBlock(first))
        first = user;
    if (first) {
      OpBuilder b(first);
      auto type = cast<RankedTensorType>(seed.getType());
      Value value =
          scale
              ? scale
              : ConstantOp::create(
                    b, f.getLoc(), type,
                    DenseElementsAttr::get(
                        type,
                        b.getFloatAttr(type.getElementType(), 1.0).getValue()));
      if (value.getType() != type)
        value = CastOp::create(b, f.getLoc(), type, value);
      seed.replaceAllUsesWith(value);
    }
    (void)f.eraseArgument(lossGrad);
  }

  LogicalResult build(GradientForm &form) {
    func::FuncOp f = form.func;
    MLIRContext *ctx = f.getContext();
    bool fp16 = computesInFp16(f);
    bool scaling = lossScale == LossScaling::Dynamic ||
                   (lossScale == LossScaling::Auto && fp16);
    if (fp16 && lossScale == LossScaling::None)
      f.emitWarning(getArgument())
          << ": an fp16 step without loss scaling: gradients below fp16's "
             "smallest value (6e-8) become zero and large ones overflow; "
             "use loss-scale=dynamic (GradScaler's)";
    bool skips = skipNonfinite || scaling;
    // Values, not indices: arguments are inserted and erased below.
    SmallVector<Value> params;
    for (unsigned p : form.params)
      params.push_back(f.getArgument(p));

    std::optional<unsigned> stepIndex = findArgument(f, kInputAttr, kStepInput);
    if (!stepIndex)
      return f.emitOpError(getArgument())
             << ": has no '" << kStepInput << "' argument";
    SmallVector<StringRef> suffixes = stateSuffixes();
    auto stepType = RankedTensorType::get({}, IntegerType::get(ctx, 64));
    Builder attrs(ctx);

    // Optimizer state (per suffix, per parameter) and the count of applied
    // updates go before the step, after the parameters.
    SmallVector<Type> stateTypes;
    SmallVector<DictionaryAttr> stateAttrs;
    SmallVector<std::string> stateNames;
    for (StringRef suffix : suffixes)
      for (auto [p, name] : llvm::zip(form.params, form.paramNames)) {
        stateTypes.push_back(f.getArgument(p).getType());
        stateNames.push_back(name + "." + suffix.str());
      }
    if (skips) {
      stateTypes.push_back(stepType);
      stateNames.push_back(kAppliedStepsName.str());
    }
    auto f32 = RankedTensorType::get({}, Float32Type::get(ctx));
    if (scaling) {
      stateTypes.append({f32, stepType});
      stateNames.append({kScaleName.str(), kGrowthTrackerName.str()});
    }
    for (const std::string &name : stateNames) {
      SmallVector<NamedAttribute, 2> entries = {
          attrs.getNamedAttr(kStateAttr, attrs.getStringAttr(name))};
      if (name == kScaleName)
        entries.push_back(
            attrs.getNamedAttr(kInitialAttr, attrs.getF64FloatAttr(initScale)));
      stateAttrs.push_back(attrs.getDictionaryAttr(entries));
    }
    SmallVector<unsigned> at(stateTypes.size(), *stepIndex);
    SmallVector<Location> locs(stateTypes.size(), f.getLoc());
    if (failed(f.insertArguments(at, stateTypes, stateAttrs, locs)))
      return failure();
    unsigned stateStart = *stepIndex;
    Value step = f.getArgument(*stepIndex + stateTypes.size());
    SmallVector<SmallVector<Value>> states(suffixes.size());
    for (size_t s = 0; s < suffixes.size(); ++s)
      for (size_t p = 0; p < form.params.size(); ++p)
        states[s].push_back(
            f.getArgument(stateStart + s * form.params.size() + p));
    unsigned extra = stateStart + suffixes.size() * form.params.size();
    Value applied = skips ? f.getArgument(extra) : Value();
    Value lossScaleValue = scaling ? f.getArgument(extra + 1) : Value();
    Value growthTracker = scaling ? f.getArgument(extra + 2) : Value();
    seed(f, lossScaleValue);

    auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
    OpBuilder b(ret);
    Location loc = f.getLoc();
    Value lossValue = ret.getOperand(form.loss);
    SmallVector<Value> grads;
    for (unsigned g : form.grads)
      grads.push_back(ret.getOperand(g));
    if (cast<RankedTensorType>(lossValue.getType()).getElementType() !=
        b.getF32Type())
      lossValue = CastOp::create(b, loc, f32, lossValue);

    // GradScaler.unscale_: the gradients times 1/scale, each element
    // checked for inf/NaN.
    Value scaledFoundInf;
    if (scaling) {
      Value inverse = ReciprocalOp::create(b, loc, lossScaleValue);
      auto unscale = UnscaleGradientsOp::create(b, loc, inverse, grads);
      scaledFoundInf = unscale.getFoundInf();
      grads.assign(unscale.getUnscaled().begin(), unscale.getUnscaled().end());
    }

    // Norm, clipping coefficient (as clip_grad_norm_ computes it, in fp32),
    // non-finite check, learning rate.
    Value norm = GlobalNormOp::create(b, loc, grads);
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
    // reaches the parameters or a checkpoint. With loss scaling,
    // GradScaler's test alone decides (a finite gradient whose norm
    // overflows is clipped to zero, not skipped).
    Value foundInf = scaledFoundInf;
    if (!scaling)
      foundInf = nonFinite(b, loc, norm, lossValue);
    // Skipped steps do not count as optimizer steps (as with AMP's
    // GradScaler, after which HF's Trainer does not step the scheduler
    // either): AdamW's bias correction, SGD's first step and the schedule
    // then follow a count of applied updates kept as optimizer state.
    Value updateStep = step, newApplied;
    if (skips) {
      Value one = ConstantOp::create(
          b, loc, stepType,
          DenseElementsAttr::get(stepType, static_cast<int64_t>(1)));
      Value next = AddOp::create(b, loc, applied, one);
      newApplied = WhereOp::create(b, loc, foundInf, applied, next);
      updateStep = applied;
    }
    Value lrValue = LrScheduleOp::create(
        b, loc, updateStep, schedule, APFloat(double(lr)), warmupSteps,
        totalSteps, APFloat(double(numCycles)));

    // One update per parameter.
    SmallVector<Value> newParams;
    SmallVector<SmallVector<Value>> newStates(suffixes.size());
    for (size_t p = 0; p < params.size(); ++p) {
      if (optimizer == OptimizerKind::AdamW) {
        auto update = AdamWOp::create(
            b, loc, params[p], grads[p], states[0][p], states[1][p], lrValue,
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
          b, loc, params[p], grads[p], buffer, lrValue, updateStep, scale,
          foundInf, APFloat(double(momentum)), APFloat(double(dampening)),
          APFloat(double(weightDecay)), nesterov);
      newParams.push_back(update.getNewParam());
      if (buffer)
        newStates[0].push_back(update.getNewMomentumBuffer());
    }

    // GradScaler.update.
    Value newScale, newTracker;
    if (scaling) {
      auto update = UpdateLossScaleOp::create(
          b, loc, lossScaleValue, growthTracker, foundInf,
          APFloat(double(growthFactor)), APFloat(double(backoffFactor)),
          growthInterval);
      newScale = update.getNewScale();
      newTracker = update.getNewGrowthTracker();
    }

    // Results: named outputs, then updates of parameters and state.
    SmallVector<Value> outs = {lossValue, lrValue, norm, foundInf};
    SmallVector<DictionaryAttr> resultAttrs;
    auto named = [&](StringRef attr, StringRef name) {
      resultAttrs.push_back(attrs.getDictionaryAttr(
          attrs.getNamedAttr(attr, attrs.getStringAttr(name))));
    };
    StringRef flag = skips ? kSkippedOutput : kStoppedOutput;
    for (StringRef name : {StringRef(kLossOutput), StringRef("lr"),
                           StringRef("grad_norm"), flag})
      named(kOutputAttr, name);
    if (scaling) {
      named(kOutputAttr, kLossScaleOutput);
      outs.push_back(newScale);
    }
    for (size_t p = 0; p < params.size(); ++p) {
      named(kUpdateAttr, form.paramNames[p]);
      outs.push_back(newParams[p]);
    }
    for (size_t s = 0; s < suffixes.size(); ++s)
      for (size_t p = 0; p < params.size(); ++p) {
        named(kUpdateAttr, stateNames[s * params.size() + p]);
        outs.push_back(newStates[s][p]);
      }
    if (newApplied) {
      named(kUpdateAttr, kAppliedStepsName);
      outs.push_back(newApplied);
    }
    if (scaling) {
      named(kUpdateAttr, kScaleName);
      outs.push_back(newScale);
      named(kUpdateAttr, kGrowthTrackerName);
      outs.push_back(newTracker);
    }
    func::ReturnOp::create(b, ret.getLoc(), outs);
    ret.erase();
    SmallVector<Type> resultTypes;
    for (Value v : outs)
      resultTypes.push_back(v.getType());
    f.setType(FunctionType::get(ctx, f.getArgumentTypes(), resultTypes));
    f.setAllResultAttrs(resultAttrs);
    return success();
  }
};

} // namespace
