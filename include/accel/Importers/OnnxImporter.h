//===- OnnxImporter.h - ONNX models as accel IR -----------------*- C++ -*-===//
//
// Turns an ONNX model into a module with one `func.func` of accel ops whose
// arguments are the model's inputs and parameters. Weights are returned
// separately (the IR holds none): the caller writes them to safetensors.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_IMPORTERS_ONNXIMPORTER_H
#define ACCEL_IMPORTERS_ONNXIMPORTER_H

#include "accel/runtime/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel {

struct OnnxImportOptions {
  /// Static shapes for inputs whose ONNX shapes have symbolic dims, and
  /// overrides for the others ("input_ids" -> {1, 32}).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Name of the function to create.
  std::string functionName = "main";
  /// Run the clean-up that forms accel.linear / accel.attention and folds
  /// shape computations (on by default; off shows the literal import).
  bool formHighLevelOps = true;
  /// The model's Hugging Face config.json, carried into the IR so that
  /// training checkpoints are from_pretrained directories. Empty: a
  /// config.json beside the ONNX file, if it is one (names a model_type).
  std::string hfConfigPath;
};

struct ImportedWeight {
  std::string name;
  rt::TensorView view; // points into ImportedModel's storage
};

struct ImportedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<ImportedWeight> weights;
  std::shared_ptr<void> storage; // keeps the weights' bytes alive
};

/// Imports `path`. On failure returns false and sets `error` to a message
/// naming the file and, where one is at fault, the node, its op type and the
/// opset.
bool importOnnxFile(const std::string &path, const OnnxImportOptions &options,
                    mlir::MLIRContext &context, ImportedModel &result,
                    std::string &error);

/// Parses "name=1x32" into options.inputShapes; false on a malformed spec.
bool parseInputShape(const std::string &spec, OnnxImportOptions &options,
                     std::string &error);

} // namespace accel

#endif // ACCEL_IMPORTERS_ONNXIMPORTER_H
