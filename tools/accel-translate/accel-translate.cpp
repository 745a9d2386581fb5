//===- accel-translate.cpp - Import models, write executables -------------===//
//
//   accel-translate --import-onnx model.onnx -o model.mlir
//       [--weights model.safetensors] [--input-shape input_ids=1x32]...
//       [--hf-config config.json]
//   accel-translate --mlir-to-executable model.mlir -o model.accx
//
// Outputs are written atomically: on any error no output file is left.
//
//===----------------------------------------------------------------------===//
#include "accel/Driver/Compiler.h"
#include "accel/Importers/OnnxImporter.h"
#include "accel/runtime/Safetensors.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("accel-translate options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input>"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("path"), cl::Required,
                                       cl::cat(category));
static cl::opt<bool> importOnnx("import-onnx",
                                cl::desc("Import an ONNX model as accel IR"),
                                cl::cat(category));
static cl::opt<bool>
    toExecutable("mlir-to-executable",
                 cl::desc("Lower accel IR and write the runtime executable"),
                 cl::cat(category));
static cl::opt<std::string> weightsFile(
    "weights",
    cl::desc("Where to write the weights (default: the output's path with "
             ".safetensors)"),
    cl::value_desc("path"), cl::cat(category));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Static shape of an input: NAME=DIMxDIM..."),
                cl::value_desc("spec"), cl::cat(category));
static cl::opt<std::string> hfConfig(
    "hf-config",
    cl::desc("The model's Hugging Face config.json, which training "
             "checkpoints carry (default: config.json beside the model, if "
             "it is one)"),
    cl::value_desc("path"), cl::cat(category));
static cl::opt<bool>
    literal("no-high-level-ops",
            cl::desc("Keep the literal import: no folding, linear or attention "
                     "forming"),
            cl::cat(category));

static int fail(const std::string &message) {
  errs() << "accel-translate: error: " << message << "\n";
  return 1;
}

static int runImport(mlir::MLIRContext &context) {
  accel::OnnxImportOptions options;
  options.formHighLevelOps = !literal;
  options.hfConfigPath = hfConfig;
  std::string error;
  for (const std::string &spec : inputShapes)
    if (!accel::parseInputShape(spec, options, error))
      return fail(error);
  accel::ImportedModel model;
  if (!accel::importOnnxFile(inputFile, options, context, model, error))
    return fail(error);

  std::string weights = weightsFile;
  if (weights.empty()) {
    SmallString<256> path(outputFile);
    sys::path::replace_extension(path, ".safetensors");
    weights = std::string(path);
  }
  try {
    // Neither output may be the model read, nor each other.
    accel::rt::refuseInputsAsOutputs(
        {{"-o", outputFile}, {"--weights", weights}},
        {{"input", inputFile}, {"--hf-config", hfConfig}});
    accel::rt::refuseInputsAsOutputs({{"--weights", weights}},
                                     {{"-o", outputFile}});
    accel::rt::requireReplaceable(outputFile);
    accel::rt::requireReplaceable(weights);
  } catch (const std::exception &e) {
    return fail(e.what());
  }
  std::string text;
  raw_string_ostream os(text);
  // Locations name the ONNX node each op came from; keeping them in the
  // file lets later errors (a bad index at run time) name that node.
  model.module->print(os, mlir::OpPrintingFlags().enableDebugInfo(
                              /*enable=*/true, /*prettyForm=*/false));
  try {
    std::vector<accel::rt::NamedTensor> tensors;
    for (const accel::ImportedWeight &w : model.weights)
      tensors.push_back({w.name, w.view});
    accel::rt::writeSafetensors(weights, tensors,
                                {{"format", "pt"}, {"source", inputFile}});
    accel::rt::writeFileAtomically(outputFile, {{text.data(), text.size()}});
  } catch (const std::exception &e) {
    return fail(e.what());
  }
  return 0;
}

static int runToExecutable(mlir::MLIRContext &context) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      accel::parseMlirFile(inputFile, context);
  if (!module)
    return 1;
  std::vector<uint8_t> bytes;
  if (failed(accel::compileToExecutable(*module, bytes)))
    return 1;
  try {
    accel::rt::refuseInputsAsOutputs({{"-o", outputFile}},
                                     {{"input", inputFile}});
    accel::rt::writeFileAtomically(outputFile, {{bytes.data(), bytes.size()}});
  } catch (const std::exception &e) {
    return fail(e.what());
  }
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "accel import and export tool\n");
  if (importOnnx + toExecutable != 1)
    return fail("give exactly one of --import-onnx, --mlir-to-executable");
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  return importOnnx ? runImport(context) : runToExecutable(context);
}
