//===- AccelTrainingOps.cpp - Losses and optimizer updates ---------------===//
//
// Shape rules, costs and the cross-entropy gradient of the ops in
// AccelTrainingOps.td.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace accel;

namespace {

RankedTensorType ranked(Value v) { return cast<RankedTensorType>(v.getType()); }

int64_t elements(Value v) { return ranked(v).getNumElements(); }

/// Logits [..., C] and labels [...] agree on the leading dims.
LogicalResult checkLogitsAndLabels(std::optional<Location> loc, Value logits,
                                   Value labels) {
  auto lt = ranked(logits), yt = ranked(labels);
  if (lt.getRank() < 1 || yt.getShape() != lt.getShape().drop_back())
    return emitOptionalError(loc, "labels ", yt,
                             " must have the shape of the logits ", lt,
                             " without the class dim");
  return success();
}

RankedTensorType scalarOf(Type element) {
  return RankedTensorType::get({}, element);
}

LogicalResult checkScalar(std::optional<Location> loc, Value v,
                          StringRef what) {
  if (v && ranked(v).getRank() != 0)
    return emitOptionalError(loc, what, " must be a scalar, not ", v.getType());
  return success();
}

/// Optimizer operands: state and gradient shaped like the parameter, scalar
/// lr/step/scale/skip.
LogicalResult checkUpdate(std::optional<Location> loc, Value param,
                          ArrayRef<std::pair<Value, StringRef>> likeParam,
                          Value lr, Value step, Value scale, Value skip) {
  for (auto [v, name] : likeParam)
    if (v && v.getType() != param.getType())
      return emitOptionalError(loc, name, " ", v.getType(),
                               " must have the parameter's type ",
                               param.getType());
  if (failed(checkScalar(loc, lr, "lr")) ||
      failed(checkScalar(loc, step, "step")) ||
      failed(checkScalar(loc, scale, "grad_scale")) ||
      failed(checkScalar(loc, skip, "skip")))
    return failure();
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

Value accel::buildCountedLabels(OpBuilder &b, Location loc, Value labels,
                                int64_t ignoreIndex) {
  auto type = cast<RankedTensorType>(labels.getType());
  auto scalarType = RankedTensorType::get({}, type.getElementType());
  Value ignored = ConstantOp::create(
      b, loc, scalarType,
      DenseElementsAttr::get(
          scalarType, b.getIntegerAttr(type.getElementType(), ignoreIndex)));
  Value counts = CompareOp::create(
      b, loc, labels, ignored,
      CompareDirectionAttr::get(b.getContext(), CompareDirection::NE));
  auto i64 = b.getI64Type();
  Value ones = CastOp::create(b, loc, type.clone(i64), counts);
  auto axes = b.getDenseI64ArrayAttr(
      llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())));
  return ReduceSumOp::create(b, loc, RankedTensorType::get({}, i64), ones,
                             axes, /*keep_dims=*/false);
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &out) {
  if (failed(checkLogitsAndLabels(loc, adaptor.getLogits(), adaptor.getLabels())) ||
      failed(checkScalar(loc, adaptor.getCount(), "count")))
    return failure();
  out.push_back(scalarOf(ranked(adaptor.getLogits()).getElementType()));
  return success();
}
int64_t CrossEntropyOp::getFlops() { return 4 * elements(getLogits()); }

LogicalResult CrossEntropyOp::buildGradient(OpBuilder &b, ValueRange grads,
                                            SmallVectorImpl<Value> &out) {
  out.push_back(CrossEntropyGradOp::create(
      b, getLoc(), getLogits(), getLabels(), grads[0], getCount(),
      getIgnoreIndex(), getLabelSmoothing()));
  out.push_back(nullptr); // labels are indices
  if (getCount())
    out.push_back(nullptr); // and so is the count
  return success();
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &out) {
  if (failed(checkLogitsAndLabels(loc, adaptor.getLogits(), adaptor.getLabels())) ||
      failed(checkScalar(loc, adaptor.getDloss(), "dloss")) ||
      failed(checkScalar(loc, adaptor.getCount(), "count")))
    return failure();
  out.push_back(adaptor.getLogits().getType());
  return success();
}
int64_t CrossEntropyGradOp::getFlops() { return 6 * elements(getLogits()); }
Value CrossEntropyGradOp::getTiedOperand(unsigned index) {
  return index == 0 ? getLogits() : Value();
}

LogicalResult LinearCrossEntropyOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &out) {
  auto input = ranked(adaptor.getInput()), weight = ranked(adaptor.getWeight());
  auto labels = ranked(adaptor.getLabels());
  if (weight.getRank() != 2 || input.getRank() < 1)
    return emitOptionalError(loc, "needs a 2-D weight and an input with a "
                                  "feature dim");
  bool inOut = adaptor.getWeightInOut();
  int64_t k = inOut ? weight.getDimSize(0) : weight.getDimSize(1);
  if (input.getShape().back() != k)
    return emitOptionalError(loc, "input ", input, " does not fit weight ",
                             weight);
  if (labels.getShape() != input.getShape().drop_back())
    return emitOptionalError(loc, "labels ", labels,
                             " must have the shape of the input ", input,
                             " without the feature dim");
  if (failed(checkScalar(loc, adaptor.getCount(), "count")) ||
      failed(checkScalar(loc, adaptor.getCotangent(), "cotangent")))
    return failure();
  // A low-precision head's loss is fp32, as autocast computes losses.
  Type element = input.getElementType();
  out.push_back(scalarOf(element.getIntOrFloatBitWidth() < 32
                             ? Float32Type::get(element.getContext())
                             : element));
  out.push_back(input);
  out.push_back(weight);
  return success();
}
int64_t LinearCrossEntropyOp::getFlops() {
  int64_t rows = elements(getLabels());
  int64_t classes = getWeightInOut() ? ranked(getWeight()).getDimSize(1)
                                     : ranked(getWeight()).getDimSize(0);
  int64_t k = ranked(getInput()).getShape().back();
  return 3 * 2 * rows * classes * k + 10 * rows * classes;
}

LogicalResult LinearCrossEntropyOp::buildGradient(OpBuilder &b,
                                                  ValueRange grads,
                                                  SmallVectorImpl<Value> &out) {
  // Only the loss is differentiable; its gradients are computed with the
  // loss, for the op's cotangent.
  Value seed = grads[0];
  if (!seed)
    return emitOpError("only its loss has a gradient");
  // The cotangent as the op's operand when it exists before the op (the
  // step's loss.grad argument): the kernel scales the logit gradients
  // before rounding them, as a scaled backward pass does.
  Operation *def = seed.getDefiningOp();
  bool available =
      !getCotangent() && (!def || (def->getBlock() == (*this)->getBlock() &&
                                   def->isBeforeInBlock(*this)));
  if (available) {
    getCotangentMutable().assign(seed);
    out.append({getInputGrad(), getWeightGrad()});
  } else {
    // Otherwise the gradients are scaled after, in the loss's fp32 and
    // rounded once.
    Type lossElement = cast<RankedTensorType>(seed.getType()).getElementType();
    for (Value grad : {getInputGrad(), getWeightGrad()}) {
      auto type = cast<RankedTensorType>(grad.getType());
      if (type.getElementType() == lossElement) {
        out.push_back(MulOp::create(b, getLoc(), grad, seed));
        continue;
      }
      Value wide = CastOp::create(b, getLoc(), type.clone(lossElement), grad);
      Value scaled = MulOp::create(b, getLoc(), wide, seed);
      out.push_back(CastOp::create(b, getLoc(), type, scaled));
    }
  }
  out.push_back(nullptr); // labels are indices
  if (getCount())
    out.push_back(nullptr); // and so is the count
  if (getCotangent())
    out.push_back(nullptr);
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizer building blocks
//===----------------------------------------------------------------------===//

LogicalResult GlobalNormOp::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &out) {
  if (adaptor.getOperands().empty())
    return emitOptionalError(loc, "needs at least one tensor");
  out.push_back(scalarOf(Float32Type::get(ctx)));
  return success();
}
int64_t GlobalNormOp::getFlops() {
  int64_t n = 0;
  for (Value v : getOperands())
    n += 2 * elements(v);
  return n;
}

LogicalResult LrScheduleOp::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &out) {
  if (failed(checkScalar(loc, adaptor.getStep(), "step")))
    return failure();
  out.push_back(scalarOf(Float64Type::get(ctx)));
  return success();
}
LogicalResult LrScheduleOp::verify() {
  if (getWarmupSteps() < 0 || getTotalSteps() < 0)
    return emitOpError("warmup_steps and total_steps must be non-negative");
  bool decays = getSchedule() == LrSchedule::Linear ||
                getSchedule() == LrSchedule::Cosine;
  if (decays && getTotalSteps() == 0)
    return emitOpError("a '")
           << stringifyLrSchedule(getSchedule())
           << "' schedule needs total_steps (the step where it reaches 0)";
  return success();
}
int64_t LrScheduleOp::getFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Dynamic loss scaling
//===----------------------------------------------------------------------===//

LogicalResult UnscaleGradientsOp::inferReturnTypes(MLIRContext *ctx,
                                                   std::optional<Location> loc,
                                                   Adaptor adaptor,
                                                   SmallVectorImpl<Type> &out) {
  if (failed(checkScalar(loc, adaptor.getInvScale(), "inv_scale")))
    return failure();
  out.push_back(scalarOf(IntegerType::get(ctx, 1)));
  for (Value g : adaptor.getGrads())
    out.push_back(g.getType());
  return success();
}
int64_t UnscaleGradientsOp::getFlops() {
  int64_t n = 0;
  for (Value v : getGrads())
    n += 2 * elements(v);
  return n;
}
Value UnscaleGradientsOp::getTiedOperand(unsigned index) {
  return index >= 1 && index <= getGrads().size() ? getGrads()[index - 1]
                                                  : Value();
}

LogicalResult UpdateLossScaleOp::inferReturnTypes(MLIRContext *,
                                                  std::optional<Location> loc,
                                                  Adaptor adaptor,
                                                  SmallVectorImpl<Type> &out) {
  if (failed(checkScalar(loc, adaptor.getScale(), "scale")) ||
      failed(checkScalar(loc, adaptor.getGrowthTracker(), "growth_tracker")) ||
      failed(checkScalar(loc, adaptor.getFoundInf(), "found_inf")))
    return failure();
  out.push_back(adaptor.getScale().getType());
  out.push_back(adaptor.getGrowthTracker().getType());
  return success();
}
LogicalResult UpdateLossScaleOp::verify() {
  // GradScaler's own checks.
  if (!(getGrowthFactor().convertToDouble() > 1.0))
    return emitOpError("growth_factor must be > 1");
  double backoff = getBackoffFactor().convertToDouble();
  if (!(backoff > 0.0 && backoff < 1.0))
    return emitOpError("backoff_factor must be in (0, 1)");
  if (getGrowthInterval() < 1)
    return emitOpError("growth_interval must be a positive integer");
  return success();
}
int64_t UpdateLossScaleOp::getFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Optimizer updates
//===----------------------------------------------------------------------===//

LogicalResult AdamWOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &out) {
  Value param = adaptor.getParam();
  if (failed(checkUpdate(loc, param,
                         {{adaptor.getGrad(), "grad"},
                          {adaptor.getExpAvg(), "exp_avg"},
                          {adaptor.getExpAvgSq(), "exp_avg_sq"}},
                         adaptor.getLr(), adaptor.getStep(),
                         adaptor.getGradScale(), adaptor.getSkip())))
    return failure();
  out.append(3, param.getType());
  return success();
}
int64_t AdamWOp::getFlops() { return 14 * elements(getParam()); }
Value AdamWOp::getTiedOperand(unsigned index) {
  Value tied[] = {getParam(), getExpAvg(), getExpAvgSq()};
  return index < 3 ? tied[index] : Value();
}

LogicalResult SgdOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &out) {
  Value param = adaptor.getParam();
  Value buffer = adaptor.getMomentumBuffer();
  if (failed(checkUpdate(loc, param,
                         {{adaptor.getGrad(), "grad"},
                          {buffer, "momentum_buffer"}},
                         adaptor.getLr(), adaptor.getStep(),
                         adaptor.getGradScale(), adaptor.getSkip())))
    return failure();
  bool hasMomentum = adaptor.getMomentum().convertToDouble() != 0;
  if (hasMomentum != static_cast<bool>(buffer))
    return emitOptionalError(
        loc, "a momentum buffer is needed exactly when momentum is non-zero");
  out.push_back(param.getType());
  if (buffer)
    out.push_back(param.getType());
  return success();
}
int64_t SgdOp::getFlops() { return 6 * elements(getParam()); }
Value SgdOp::getTiedOperand(unsigned index) {
  return index == 0 ? getParam() : index == 1 ? getMomentumBuffer() : Value();
}
