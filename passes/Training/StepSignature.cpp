//===- StepSignature.cpp - The training step's arguments by role ---------===//
#include "passes/Training/StepSignature.h"
#include "dialects/Accel/AccelDialect.h"
#include "passes/Training/ReverseSweep.h"

using namespace mlir;

/// The first of `count` positions whose string attribute (`get`) is `value`.
template <typename GetAttr>
static std::optional<unsigned> findNamed(unsigned count, StringRef value,
                                         GetAttr get) {
  for (unsigned i = 0; i < count; ++i)
    if (StringAttr name = get(i); name && name.getValue() == value)
      return i;
  return std::nullopt;
}

std::optional<unsigned> accel::findArgument(func::FuncOp f, StringRef attr,
                                            StringRef value) {
  return findNamed(f.getNumArguments(), value, [&](unsigned i) {
    return f.getArgAttrOfType<StringAttr>(i, attr);
  });
}

std::optional<unsigned> accel::findResult(func::FuncOp f, StringRef attr,
                                          StringRef value) {
  return findNamed(f.getNumResults(), value, [&](unsigned i) {
    return f.getResultAttrOfType<StringAttr>(i, attr);
  });
}

bool accel::isTrainedParameter(func::FuncOp f, unsigned i) {
  return f.getArgAttr(i, kParamAttr) && !f.getArgAttr(i, kFrozenAttr) &&
         isFloatTensor(f.getArgument(i).getType());
}

func::FuncOp accel::findTrainStep(ModuleOp module, StringRef stage) {
  auto f = module.lookupSymbol<func::FuncOp>(kTrainStepName);
  if (!f || f.isExternal())
    module.emitError(stage) << ": the module has no @" << kTrainStepName
                            << " (accel-build-loss builds it)";
  return f && !f.isExternal() ? f : func::FuncOp();
}

FailureOr<accel::GradientForm> accel::readGradientForm(ModuleOp module,
                                                       StringRef stage) {
  func::FuncOp f = findTrainStep(module, stage);
  if (!f)
    return failure();
  GradientForm form;
  form.func = f;
  std::optional<unsigned> lossGrad =
      findArgument(f, kInputAttr, kLossGradInput);
  std::optional<unsigned> loss = findResult(f, kOutputAttr, kLossOutput);
  if (!lossGrad || !loss)
    return f.emitOpError(stage)
           << ": needs the gradient form of the step (a '" << kLossGradInput
           << "' argument and a '" << kLossOutput
           << "' result; accel-add-gradients builds it)";
  form.lossGrad = *lossGrad;
  form.loss = *loss;
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    if (!isTrainedParameter(f, i))
      continue;
    StringRef name = f.getArgAttrOfType<StringAttr>(i, kParamAttr).getValue();
    std::optional<unsigned> grad = findResult(f, kGradAttr, name);
    if (!grad)
      return f.emitOpError(stage) << ": the trained parameter '" << name
                                  << "' has no gradient result ({" << kGradAttr
                                  << " = \"" << name << "\"})";
    form.params.push_back(i);
    form.grads.push_back(*grad);
    form.paramNames.push_back(name.str());
  }
  return form;
}
