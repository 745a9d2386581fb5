//===- OnnxImporter.cpp - ONNX models as accel IR ------------------------===//
#include "accel/Importers/OnnxImporter.h"
#include "lib/Importers/ONNX/GraphImporter.h"
#include "lib/Importers/ONNX/InitializerRoles.h"
#include "lib/Importers/ONNX/ModelValidity.h"
#include "lib/Importers/ONNX/OnnxModel.h"
#include "passes/Import/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <set>

using namespace mlir;
using namespace accel;

namespace {

rt::DType runtimeDType(int32_t t) {
  using onnx::ElemType;
  switch (static_cast<ElemType>(t)) {
  case ElemType::Float: return rt::DType::F32;
  case ElemType::Double: return rt::DType::F64;
  case ElemType::Float16: return rt::DType::F16;
  default: return rt::DType::BF16;
  }
}

} // namespace

bool accel::parseInputShape(const std::string &spec, OnnxImportOptions &options,
                            std::string &error) {
  size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0) {
    error = "--input-shape '" + spec + "' is not NAME=DIMxDIM...";
    return false;
  }
  std::vector<int64_t> dims;
  StringRef rest = StringRef(spec).drop_front(eq + 1);
  if (rest != "scalar") {
    SmallVector<StringRef> parts;
    rest.split(parts, 'x');
    for (StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d < 0) {
        error = "--input-shape '" + spec + "': '" + p.str() +
                "' is not a dimension";
        return false;
      }
      dims.push_back(d);
    }
  }
  options.inputShapes[spec.substr(0, eq)] = dims;
  return true;
}

/// The Hugging Face config for the model at `onnxPath`: the file `given`,
/// else `config.json` beside the model when it is a Hugging Face config (a
/// JSON object naming a `model_type`, as save_pretrained and optimum write
/// it). Sets `config` empty when there is none; false with `error` when the
/// given file cannot be used.
static bool readHfConfig(const std::string &onnxPath, const std::string &given,
                         std::string &config, std::string &error) {
  SmallString<256> path(given);
  if (given.empty()) {
    path = onnxPath;
    llvm::sys::path::remove_filename(path);
    llvm::sys::path::append(path, "config.json");
    if (!llvm::sys::fs::exists(path))
      return true;
  }
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = path.str().str() + ": cannot read the config (" +
            buffer.getError().message() + ")";
    return false;
  }
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  const llvm::json::Object *object = json ? json->getAsObject() : nullptr;
  if (!object || !object->getString("model_type")) {
    if (!json)
      llvm::consumeError(json.takeError());
    if (given.empty())
      return true; // some other config.json: not ours to carry
    error = path.str().str() +
            ": not a Hugging Face config (a JSON object with a model_type)";
    return false;
  }
  config = (*buffer)->getBuffer().str();
  return true;
}

bool accel::importOnnxFile(const std::string &path,
                           const OnnxImportOptions &options,
                           MLIRContext &context, ImportedModel &result,
                           std::string &error) {
  auto model = std::make_shared<onnx::Model>();
  if (!onnx::loadModelFile(path, *model, error))
    return false;
  const onnx::Graph &graph = model->graph;
  context.loadDialect<AccelDialect, func::FuncDialect>();
  OpBuilder b(&context);

  if (!onnx::checkModelValidity(*model, error)) {
    error = path + ": " + error;
    return false;
  }
  int64_t opset = model->opsetImports.at("");
  for (const auto &node : graph.nodes)
    if (node.opType == "If" || node.opType == "Loop" || node.opType == "Scan") {
      error = path + ": node '" + node.name + "' (" + node.opType +
              ", opset " + std::to_string(opset) +
              "): control flow is not supported";
      return false;
    }

  onnx::GraphImporter importer(b, *model, path);
  std::set<std::string> initializerNames;
  for (const auto &t : graph.initializers)
    initializerNames.insert(t.name);

  // Signature: graph inputs (not initializers), then parameters.
  SmallVector<Type> argTypes;
  SmallVector<std::pair<StringRef, std::string>> argNames; // attr, name
  std::vector<const onnx::Tensor *> params;
  for (const auto &[name, dims] : options.inputShapes) {
    bool found = false;
    for (const auto &in : graph.inputs)
      found |= in.name == name;
    if (!found) {
      error = path + ": --input-shape names '" + name +
              "', which is not an input of the model";
      return false;
    }
  }
  for (const onnx::ValueInfo &in : graph.inputs) {
    if (initializerNames.count(in.name))
      continue;
    auto fail = [&](const std::string &why) {
      error = path + ": input '" + in.name + "': " + why;
      return false;
    };
    if (!in.isTensor)
      return fail("sequence, map and optional inputs are not supported");
    Type et = importer.elementType(in.elemType);
    if (!et)
      return fail(std::string("element type ") +
                  onnx::elemTypeName(in.elemType) + " is not supported");
    std::vector<int64_t> dims = in.dims;
    auto given = options.inputShapes.find(in.name);
    if (given != options.inputShapes.end()) {
      if (in.hasShape && given->second.size() != in.dims.size())
        return fail("--input-shape gives rank " +
                    std::to_string(given->second.size()) +
                    ", the model has rank " + std::to_string(in.dims.size()));
      for (size_t i = 0; in.hasShape && i < dims.size(); ++i)
        if (dims[i] >= 0 && dims[i] != given->second[i])
          return fail("--input-shape sets dim " + std::to_string(i) + " to " +
                      std::to_string(given->second[i]) +
                      ", the model fixes it at " + std::to_string(dims[i]));
      dims = given->second;
    } else {
      if (!in.hasShape)
        return fail("the model gives no shape; pass --input-shape " +
                    in.name + "=DIMxDIM...");
      for (size_t i = 0; i < dims.size(); ++i)
        if (dims[i] < 0)
          return fail("dim " + std::to_string(i) + " is symbolic ('" +
                      in.dimParams[i] + "'); pass --input-shape " + in.name +
                      "=DIMxDIM...");
    }
    argTypes.push_back(RankedTensorType::get(dims, et));
    argNames.push_back({kInputAttr, in.name});
  }
  // Parameters and buffers are arguments backed by safetensors; the rest
  // of the initializers are constants that can fold.
  onnx::InitializerRoles roles = onnx::classifyInitializers(*model, path);
  auto roleOf = [&](const onnx::Tensor &t) { return roles.roles.at(t.name); };
  for (const onnx::Tensor &t : graph.initializers) {
    onnx::InitializerRole role = roleOf(t);
    if (role == onnx::InitializerRole::Constant)
      continue;
    argTypes.push_back(
        RankedTensorType::get(t.dims, importer.elementType(t.elemType)));
    argNames.push_back(
        {role == onnx::InitializerRole::Parameter ? kParamAttr : kBufferAttr,
         t.name});
    params.push_back(&t);
  }

  result.module = ModuleOp::create(UnknownLoc::get(&context));
  b.setInsertionPointToEnd(result.module->getBody());
  auto fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  auto func = func::FuncOp::create(b, fileLoc, options.functionName,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [i, an] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, an.first, b.getStringAttr(an.second));
    importer.bind(an.second, entry->getArgument(i));
  }
  if (!roles.untrainable.empty())
    func->setAttr(kUntrainableAttr, b.getStringAttr(roles.untrainable));
  if (!roles.recorded)
    func->setAttr(kUnrecordedParamsAttr, b.getUnitAttr());
  std::string hfConfig;
  if (!readHfConfig(path, options.hfConfigPath, hfConfig, error))
    return false;
  if (!hfConfig.empty())
    func->setAttr(kMetadataAttr,
                  b.getDictionaryAttr(b.getNamedAttr(
                      kHfConfigKey, b.getStringAttr(hfConfig))));
  b.setInsertionPointToStart(entry);
  for (const onnx::Tensor &t : graph.initializers) {
    if (roleOf(t) != onnx::InitializerRole::Constant)
      continue;
    auto attr = importer.tensorAttr(t);
    if (failed(attr)) {
      error = path + ": initializer '" + t.name + "' has unsupported type " +
              onnx::elemTypeName(t.elemType);
      return false;
    }
    importer.bind(t.name, ConstantOp::create(b, fileLoc, attr->getType(), *attr));
  }

  for (const onnx::Node &node : graph.nodes)
    if (failed(importer.convert(node))) {
      error = importer.error();
      return false;
    }

  SmallVector<Value> outputs;
  SmallVector<Type> outputTypes;
  for (const onnx::ValueInfo &out : graph.outputs) {
    Value v = importer.lookup(out.name);
    if (!v) {
      error = path + ": output '" + out.name + "' is produced by no node";
      return false;
    }
    outputs.push_back(v);
    outputTypes.push_back(v.getType());
  }
  func::ReturnOp::create(b, fileLoc, outputs);
  func.setFunctionType(b.getFunctionType(argTypes, outputTypes));
  for (auto [i, out] : llvm::enumerate(graph.outputs))
    func.setResultAttr(i, kOutputAttr, b.getStringAttr(out.name));

  // Diagnostics from here on are bugs of ours or of the cleanup; collect
  // them into the error rather than printing them.
  std::string diagnostic;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (diagnostic.empty())
      diagnostic = d.str();
    return success();
  });
  if (options.formHighLevelOps) {
    PassManager pm(&context);
    buildImportCleanupPipeline(pm);
    if (failed(pm.run(*result.module))) {
      error = path + ": import clean-up failed: " + diagnostic;
      return false;
    }
  }
  if (failed(mlir::verify(*result.module))) {
    error = path + ": the imported IR does not verify: " + diagnostic;
    return false;
  }

  // Parameters and buffers nothing reads leave the signature (as in
  // PyTorch, a parameter the forward pass does not use gets no gradient and
  // no update).
  llvm::BitVector unused(func.getNumArguments());
  for (BlockArgument arg : func.getArguments())
    if (arg.use_empty() && !func.getArgAttr(arg.getArgNumber(), kInputAttr))
      unused.set(arg.getArgNumber());
  (void)func.eraseArguments(unused);
  std::set<std::string> used;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    for (StringRef attr : {kParamAttr, kBufferAttr})
      if (auto name = func.getArgAttrOfType<StringAttr>(i, attr))
        used.insert(name.str());
  for (const onnx::Tensor *t : params) {
    if (!used.count(t->name))
      continue;
    rt::TensorView view;
    view.data = const_cast<char *>(t->bytes.data());
    view.dtype = runtimeDType(t->elemType);
    view.shape.assign(t->dims.begin(), t->dims.end());
    result.weights.push_back({t->name, view});
  }
  result.storage = model;
  return true;
}
