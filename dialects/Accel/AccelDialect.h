//===- AccelDialect.h - The accel dialect -----------------------*- C++ -*-===//
#ifndef ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H
#define ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H

#include "mlir/IR/TypeUtilities.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/Location.h"

#include "dialects/Accel/AccelDialect.h.inc"

namespace accel {
/// Function signature attributes. A model function's arguments are
/// parameters, named by their model path ({accel.param =
/// "transformer.h.0.attn.c_attn.weight"}) and backed by a safetensors entry
/// of that name, buffers (below), or inputs fed per call ({accel.input =
/// "input_ids"});
/// results are named outputs ({accel.output = "logits"}).
inline constexpr llvm::StringLiteral kParamAttr = "accel.param";
inline constexpr llvm::StringLiteral kInputAttr = "accel.input";
inline constexpr llvm::StringLiteral kOutputAttr = "accel.output";
/// A buffer: model state backed by a safetensors entry and saved with the
/// parameters, but never trained ({accel.buffer = "bn.running_mean"}), as a
/// persistent buffer of a torch.nn.Module.
inline constexpr llvm::StringLiteral kBufferAttr = "accel.buffer";

/// What the importer knows about training a model function. With
/// {accel.untrainable = "<why, and what to change>"} the training-step pass
/// refuses it; with the unit attribute accel.unrecorded_parameters the export
/// did not say which weights are parameters, and the pass asks for
/// trainable=.
inline constexpr llvm::StringLiteral kUntrainableAttr = "accel.untrainable";
inline constexpr llvm::StringLiteral kUnrecordedParamsAttr =
    "accel.unrecorded_parameters";

/// Training functions add optimizer state, zero-initialized and kept across
/// steps like parameters ({accel.state = "wte.weight.exp_avg"}), and mark
/// each result that replaces a parameter or a state by its name
/// ({accel.update = "wte.weight"}): the runtime feeds it to the next step.
inline constexpr llvm::StringLiteral kStateAttr = "accel.state";
/// A state that starts at another value than zero (GradScaler's scale):
/// {accel.initial = 65536.0 : f64} on its argument, every element.
inline constexpr llvm::StringLiteral kInitialAttr = "accel.initial";
inline constexpr llvm::StringLiteral kUpdateAttr = "accel.update";
/// A parameter the training step does not train (unit attribute): loaded
/// and saved with the model, without a gradient or an update.
inline constexpr llvm::StringLiteral kFrozenAttr = "accel.frozen";
/// Between the stages of the training step, the result holding a trained
/// parameter's gradient ({accel.grad = "wte.weight"}).
inline constexpr llvm::StringLiteral kGradAttr = "accel.grad";
/// A function split over a grid (accel-shard) marks each argument and
/// result that holds one rank's block with the grid axis splitting each dim
/// ({accel.split = ["dp", ""]}).
inline constexpr llvm::StringLiteral kSplitAttr = "accel.split";

/// A function's facts for the runtime, a dictionary of integers, floats and
/// strings ({accel.metadata = {num_classes = 50257 : i64}}), carried into
/// the executable.
inline constexpr llvm::StringLiteral kMetadataAttr = "accel.metadata";
/// The metadata entry holding the model's Hugging Face config.json text,
/// which training checkpoints carry (see docs/user-guide.md).
inline constexpr llvm::StringLiteral kHfConfigKey = "hf_config";

/// The memory plan that accel-plan-buffers writes and the executable writer
/// reads: per op, one arena offset per result (-1: shares its operand's
/// bytes); per function, the arena's size in bytes.
inline constexpr llvm::StringLiteral kOffsetsAttr = "accel.offsets";
inline constexpr llvm::StringLiteral kArenaSizeAttr = "accel.arena_size";

/// The PyTorch module an op was traced in ("transformer.h.1.attn"), as
/// importers record it: the child of the op's name location,
/// loc("node_Mul_248"("transformer.h.1.attn")). Empty when unknown.
inline llvm::StringRef moduleScopeOf(mlir::Location loc) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc))
    if (auto scope = mlir::dyn_cast<mlir::NameLoc>(name.getChildLoc()))
      return scope.getName().getValue();
  return {};
}

/// Whether `type` (or a tensor's element type) is bf16 or fp16, the low
/// precisions of mixed-precision training.
inline bool isLowPrecisionFloat(mlir::Type type) {
  mlir::Type element = mlir::getElementTypeOrSelf(type);
  return element.isBF16() || element.isF16();
}

/// The bytes a tensor of `type` holds (a bool takes one, as in the runtime).
inline int64_t tensorBytes(mlir::RankedTensorType type) {
  return type.getNumElements() *
         std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
}
} // namespace accel

#endif // ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H
