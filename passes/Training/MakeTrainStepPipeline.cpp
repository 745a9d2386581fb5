//===- MakeTrainStepPipeline.cpp - The training step's stages in order ---===//
//
// accel-make-train-step runs the stages of the training step, each a pass
// of its own. Its option string is the union of theirs: each option goes to
// the stage that declares it, so an option is declared (and checked) once,
// by its pass.
//
//===----------------------------------------------------------------------===//
#include "passes/Training/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace {

using StageFactory = std::unique_ptr<Pass> (*)();

/// The stages, in order: loss, precision, gradients, recomputation,
/// accumulation, optimizer.
constexpr StageFactory kStages[] = {
    [] { return accel::createBuildLossPass(); },
    [] { return accel::createMixedPrecisionPass(); },
    [] { return accel::createAddGradientsPass(); },
    [] { return accel::createRecomputePass(); },
    [] { return accel::createAccumulateGradientsPass(); },
    [] { return accel::createAddOptimizerPass(); },
};

/// The option names `pass` declares, read from its textual form with
/// default values ("flag{a=1 b=}"; no default holds a space).
llvm::StringSet<> optionNames(Pass &pass) {
  std::string text;
  llvm::raw_string_ostream os(text);
  pass.printAsTextualPipeline(os);
  llvm::StringSet<> names;
  size_t open = text.find('{');
  if (open == std::string::npos)
    return names;
  StringRef inside = StringRef(text).slice(open + 1, text.rfind('}'));
  SmallVector<StringRef> items;
  inside.split(items, ' ', -1, /*KeepEmpty=*/false);
  for (StringRef item : items)
    names.insert(item.split('=').first);
  return names;
}

/// Splits "a=1 b={x y} c='p q'" into its options, at spaces outside braces
/// and quotes (as MLIR's option parser reads them).
SmallVector<StringRef> splitOptions(StringRef options) {
  SmallVector<StringRef> out;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i <= options.size(); ++i) {
    char c = i < options.size() ? options[i] : ' ';
    if (quote) {
      quote = c == quote ? 0 : quote;
      continue;
    }
    if (c == '"' || c == '\'')
      quote = c;
    else if (c == '{')
      ++depth;
    else if (c == '}')
      --depth;
    else if (c == ' ' && depth == 0) {
      if (i > start)
        out.push_back(options.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

LogicalResult
buildMakeTrainStep(OpPassManager &pm, StringRef options,
                   function_ref<LogicalResult(const Twine &)> errorHandler) {
  SmallVector<std::unique_ptr<Pass>> stages;
  SmallVector<llvm::StringSet<>> names;
  SmallVector<std::string> routed(std::size(kStages));
  for (StageFactory make : kStages) {
    stages.push_back(make());
    names.push_back(optionNames(*stages.back()));
  }
  for (StringRef given : splitOptions(options)) {
    // Accelerate's name for the precision, and recompute= for the mode.
    std::string option = given.str();
    if (given.starts_with("mixed-precision="))
      option = "dtype=" + given.split('=').second.str();
    if (given.starts_with("recompute="))
      option = "mode=" + given.split('=').second.str();
    StringRef name = StringRef(option).split('=').first.trim();
    auto owner = llvm::find_if(
        names, [&](const llvm::StringSet<> &n) { return n.contains(name); });
    if (owner == names.end()) {
      std::string known;
      for (auto &stage : stages)
        known += " " + stage->getArgument().str();
      return errorHandler("accel-make-train-step has no option '" + name +
                          "' (its options are those of its stages:" + known +
                          ")");
    }
    std::string &into = routed[owner - names.begin()];
    into += (into.empty() ? "" : " ") + option;
  }
  for (auto [stage, stageOptions] : llvm::zip(stages, routed)) {
    if (failed(stage->initializeOptions(stageOptions, errorHandler)))
      return failure();
    pm.addPass(std::move(stage));
  }
  return success();
}

} // namespace

void accel::registerMakeTrainStepPipeline() {
  registerPassPipeline(
      "accel-make-train-step",
      "The training step of a forward function: accel-build-loss, "
      "accel-mixed-precision, accel-add-gradients, accel-recompute, "
      "accel-accumulate-gradients, accel-add-optimizer (each takes its "
      "options from this pipeline's; mixed-precision= is dtype=, "
      "recompute= is mode=)",
      buildMakeTrainStep,
      [](function_ref<void(const mlir::detail::PassOptions &)>) {});
}
