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

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &out) {
  if (failed(checkLogitsAndLabels(loc, adaptor.getLogits(), adaptor.getLabels())))
    return failure();
  out.push_back(scalarOf(ranked(adaptor.getLogits()).getElementType()));
  return success();
}
int64_t CrossEntropyOp::getFlops() { return 4 * elements(getLogits()); }

LogicalResult CrossEntropyOp::buildGradient(OpBuilder &b, ValueRange grads,
                                            SmallVectorImpl<Value> &out) {
  out.push_back(CrossEntropyGradOp::create(
      b, getLoc(), getLogits(), getLabels(), grads[0], getIgnoreIndex(),
      getLabelSmoothing()));
  out.push_back(nullptr); // labels are indices
  return success();
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &out) {
  if (failed(checkLogitsAndLabels(loc, adaptor.getLogits(), adaptor.getLabels())) ||
      failed(checkScalar(loc, adaptor.getDloss(), "dloss")))
    return failure();
  out.push_back(adaptor.getLogits().getType());
  return success();
}
int64_t CrossEntropyGradOp::getFlops() { return 6 * elements(getLogits()); }
Value CrossEntropyGradOp::getTiedOperand(unsigned index) {
  return index == 0 ? getLogits() : Value();
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
