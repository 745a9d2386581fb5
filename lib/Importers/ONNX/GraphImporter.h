//===- GraphImporter.h - Builds accel IR from one ONNX graph ----*- C++ -*-===//
//
// Walks the nodes of an ONNX graph in order and builds accel ops, keeping
// the value each ONNX name stands for. Every op is verified when built and
// folded at once when its operands are constants, so shape computations
// become constants that later nodes (Reshape, Slice, ...) can read.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_LIB_IMPORTERS_ONNX_GRAPHIMPORTER_H
#define ACCEL_LIB_IMPORTERS_ONNX_GRAPHIMPORTER_H

#include "dialects/Accel/AccelOps.h"
#include "lib/Importers/ONNX/OnnxModel.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <map>
#include <string>

namespace accel::onnx {

class GraphImporter {
public:
  GraphImporter(mlir::OpBuilder &builder, const Model &model,
                std::string fileName)
      : b(builder), ctx(builder.getContext()), model(model),
        fileName(std::move(fileName)) {}

  /// Binds an ONNX name to a value (graph inputs, parameters, constants).
  void bind(const std::string &name, mlir::Value v) { values[name] = v; }
  mlir::Value lookup(const std::string &name) const;

  /// Op types of `graph` that no converter handles ("Op" or "domain.Op"),
  /// each with its node count, so that one message can list them all.
  static std::map<std::string, int> unsupportedOps(const Graph &graph);

  /// Converts one node; on failure `error()` holds the message.
  mlir::LogicalResult convert(const Node &node);
  const std::string &error() const { return errorMessage; }

  /// The element type for an ONNX TensorProto.DataType, or null.
  mlir::Type elementType(int32_t onnxType) const;
  /// A constant attribute holding an ONNX tensor's data.
  mlir::FailureOr<mlir::DenseElementsAttr> tensorAttr(const Tensor &t);

  int64_t opset() const;

private:
  using Converter = mlir::LogicalResult (GraphImporter::*)(const Node &);
  static const std::map<std::string, Converter> &converters();
  /// How many leading inputs `opType` must have.
  static unsigned requiredInputs(const std::string &opType);

  // Building blocks. Each verifies what it builds and folds constants.
  mlir::FailureOr<mlir::Value> create(llvm::StringRef opName,
                                      mlir::ValueRange operands,
                                      llvm::ArrayRef<mlir::NamedAttribute> attrs,
                                      mlir::Type resultType = {});
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  createMulti(llvm::StringRef opName, mlir::ValueRange operands,
              llvm::ArrayRef<mlir::NamedAttribute> attrs,
              mlir::TypeRange resultTypes);
  template <typename OpTy>
  mlir::FailureOr<mlir::Value>
  create(mlir::ValueRange operands,
         llvm::ArrayRef<mlir::NamedAttribute> attrs = {},
         mlir::Type resultType = {}) {
    return create(OpTy::getOperationName(), operands, attrs, resultType);
  }
  mlir::Value constant(mlir::DenseElementsAttr value);
  /// Splits x along axis into pieces of the given sizes (checked: none
  /// negative, adding up to the dim).
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  splitInto(const Node &node, mlir::Value x, int64_t axis,
            llvm::ArrayRef<int64_t> sizes);
  mlir::FailureOr<mlir::Value> reshape(mlir::Value v,
                                       llvm::ArrayRef<int64_t> shape);
  mlir::FailureOr<mlir::Value> castTo(mlir::Value v, mlir::Type elementType);
  mlir::FailureOr<mlir::Value> broadcastTo(mlir::Value v,
                                           llvm::ArrayRef<int64_t> shape);

  /// The constant value of input `index` of `node`, if it is one.
  mlir::FailureOr<mlir::DenseElementsAttr> constantInput(const Node &node,
                                                         size_t index);
  mlir::FailureOr<llvm::SmallVector<int64_t>> intsInput(const Node &node,
                                                        size_t index);
  mlir::Value input(const Node &node, size_t index) const;
  bool hasInput(const Node &node, size_t index) const;
  mlir::LogicalResult setOutput(const Node &node, size_t index,
                                mlir::Value v);
  mlir::LogicalResult fail(const Node &node, const llvm::Twine &message);
  /// Fails naming `node` when a constant of `shape` would be over
  /// kMaxConstantBytes (checked before it is built).
  mlir::LogicalResult checkConstantSize(const Node &node,
                                        llvm::ArrayRef<int64_t> shape,
                                        mlir::Type elementType);
  int64_t normalizeAxis(int64_t axis, int64_t rank) const {
    return axis < 0 ? axis + rank : axis;
  }
  mlir::RankedTensorType typeOf(mlir::Value v) const {
    return llvm::cast<mlir::RankedTensorType>(v.getType());
  }
  mlir::NamedAttribute named(llvm::StringRef name, mlir::Attribute a) {
    return b.getNamedAttr(name, a);
  }
  int64_t attrInt(const Node &node, const char *name, int64_t dflt) const;
  float attrFloat(const Node &node, const char *name, float dflt) const;

  // Converters, grouped as in OnnxOpConverters.cpp.
  mlir::LogicalResult convertBinary(const Node &node);
  mlir::LogicalResult convertVariadic(const Node &node);
  mlir::LogicalResult convertUnary(const Node &node);
  mlir::LogicalResult convertCompare(const Node &node);
  mlir::LogicalResult convertIsNanOrInf(const Node &node);
  mlir::LogicalResult convertWhere(const Node &node);
  mlir::LogicalResult convertLogical(const Node &node);
  mlir::LogicalResult convertCast(const Node &node);
  mlir::LogicalResult convertIdentity(const Node &node);
  mlir::LogicalResult convertGelu(const Node &node);
  mlir::LogicalResult convertMatMul(const Node &node);
  mlir::LogicalResult convertGemm(const Node &node);
  mlir::LogicalResult convertSoftmax(const Node &node);
  mlir::LogicalResult convertAttention(const Node &node);
  mlir::LogicalResult convertRotaryEmbedding(const Node &node);
  mlir::LogicalResult convertLayerNorm(const Node &node);
  mlir::LogicalResult convertRmsNorm(const Node &node);
  mlir::LogicalResult convertReduce(const Node &node);
  mlir::LogicalResult convertCumSum(const Node &node);
  mlir::LogicalResult convertShape(const Node &node);
  mlir::LogicalResult convertSize(const Node &node);
  mlir::LogicalResult convertReshape(const Node &node);
  mlir::LogicalResult convertFlatten(const Node &node);
  mlir::LogicalResult convertSqueeze(const Node &node);
  mlir::LogicalResult convertUnsqueeze(const Node &node);
  mlir::LogicalResult convertTranspose(const Node &node);
  mlir::LogicalResult convertSlice(const Node &node);
  mlir::LogicalResult convertConcat(const Node &node);
  mlir::LogicalResult convertSplit(const Node &node);
  mlir::LogicalResult convertExpand(const Node &node);
  mlir::LogicalResult convertGather(const Node &node);
  mlir::LogicalResult convertGatherIndexed(const Node &node);
  mlir::LogicalResult convertConstant(const Node &node);
  mlir::LogicalResult convertConstantOfShape(const Node &node);
  mlir::LogicalResult convertRange(const Node &node);
  mlir::LogicalResult convertTrilu(const Node &node);
  mlir::LogicalResult convertSplitToSequence(const Node &node);
  mlir::LogicalResult convertSequenceAt(const Node &node);

  mlir::OpBuilder &b;
  mlir::MLIRContext *ctx;
  const Model &model;
  std::string fileName;
  std::map<std::string, mlir::Value> values;
  /// ONNX sequences of tensors (SplitToSequence results), as their pieces.
  std::map<std::string, llvm::SmallVector<mlir::Value>> sequences;
  std::string errorMessage;
  mlir::Location loc = mlir::UnknownLoc::get(ctx);
  /// The model's unsupported ops, listed after the first one's message.
  std::map<std::string, int> unsupported = unsupportedOps(model.graph);
};

} // namespace accel::onnx

#endif // ACCEL_LIB_IMPORTERS_ONNX_GRAPHIMPORTER_H
