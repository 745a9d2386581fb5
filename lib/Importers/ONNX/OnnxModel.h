//===- OnnxModel.h - ONNX ModelProto decoded into plain structs -*- C++ -*-===//
//
// The part of an ONNX ModelProto the importer uses, as plain structs: read
// by libprotobuf with code generated from the pinned onnx release's
// onnx-ml.proto (OnnxModel.cpp), then checked where protobuf cannot check
// (tensor types, shapes, payload sizes, external data) with errors naming
// the message path. The importer and the fuzz target see only these structs.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_LIB_IMPORTERS_ONNX_ONNXMODEL_H
#define ACCEL_LIB_IMPORTERS_ONNX_ONNXMODEL_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel::onnx {

/// metadata_props (repeated StringStringEntryProto) of a model, node, value
/// info or tensor. Exporters record facts there that the graph cannot say,
/// e.g. the torch exporter's "pkg.torch.export.graph_signature.InputSpec.kind"
/// (PARAMETER, BUFFER, ...) on each initializer's value info.
using Metadata = std::map<std::string, std::string>;

/// TensorProto.DataType values used by ONNX.
enum class ElemType : int32_t {
  Undefined = 0, Float = 1, Uint8 = 2, Int8 = 3, Uint16 = 4, Int16 = 5,
  Int32 = 6, Int64 = 7, String = 8, Bool = 9, Float16 = 10, Double = 11,
  Uint32 = 12, Uint64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16,
  Float8E4M3FN = 17, Float8E4M3FNUZ = 18, Float8E5M2 = 19,
  Float8E5M2FNUZ = 20, Uint4 = 21, Int4 = 22, Float4E2M1 = 23,
  Float8E8M0 = 24, Uint2 = 25, Int2 = 26, Float6E2M3 = 27, Float6E3M2 = 28,
};
const char *elemTypeName(int32_t type);
/// Bytes per element, 0 for String/Undefined/unknown and the sub-byte types.
size_t elemTypeSize(int32_t type);
/// Bits per element (2, 4, 6 for the packed sub-byte types), 0 for
/// String/Undefined/unknown.
size_t elemTypeBits(int32_t type);

/// A TensorProto with its payload decoded to packed little-endian bytes,
/// whatever field held it (raw_data, float_data, int64_data, ...; external
/// data is read from the file it names, relative to the model's directory).
struct Tensor {
  std::string name;
  int32_t elemType = 0;
  std::vector<int64_t> dims;
  /// numel * elemTypeSize(elemType) bytes; sub-byte types are packed LSB
  /// first into ceil(numel * elemTypeBits(elemType) / 8) bytes.
  std::string bytes;
  std::vector<std::string> strings; // only for String tensors
  Metadata metadata;
};

struct Graph;

struct Attribute {
  /// AttributeProto.AttributeType values.
  enum Kind : int32_t {
    Undefined = 0, Float = 1, Int = 2, String = 3, TensorKind = 4, GraphKind = 5,
    Floats = 6, Ints = 7, Strings = 8, Tensors = 9, Graphs = 10,
    SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
  };
  std::string name;
  int32_t kind = Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  /// Set when the attribute refers to a function attribute (ref_attr_name).
  std::string refAttrName;
};

struct Node {
  std::string name;
  std::string opType;
  std::string domain; // "" and "ai.onnx" both mean the default domain
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;
  Metadata metadata;

  const Attribute *attr(const std::string &name) const;
};

/// A ValueInfoProto of tensor type. Dims that are symbolic or unknown are -1
/// (dimParams keeps the symbol, "" when none).
struct ValueInfo {
  std::string name;
  int32_t elemType = 0;
  bool hasShape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> dimParams;
  bool isTensor = true; // false for sequence/map/optional types
  Metadata metadata;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> valueInfo;
};

/// A FunctionProto (model-local function, as the dynamo exporter may emit).
struct Function {
  std::string name;
  std::string domain;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> attributeNames;
  /// Attributes declared with a default value (attribute_proto); their names
  /// are in attributeNames too.
  std::vector<Attribute> attributeDefaults;
  std::vector<Node> nodes;
  std::map<std::string, int64_t> opsetImports;
};

struct Model {
  int64_t irVersion = 0;
  std::string producerName;
  std::string producerVersion;
  /// Domain ("" for the default ONNX domain, also when the file says
  /// "ai.onnx") -> opset version.
  std::map<std::string, int64_t> opsetImports;
  Graph graph;
  std::vector<Function> functions;
  Metadata metadata;
};

/// Decodes a serialized ModelProto. `baseDir` resolves external data
/// locations, which must stay inside it; an empty `baseDir` forbids external
/// data (the bytes did not come from a file). On failure returns false and
/// sets `error` to one line saying what is wrong and where (the message
/// path), e.g. "tensor 'w' has 12 bytes of data, expected 24 (6 x FLOAT) in
/// ModelProto.graph.initializer[0]"; bytes protobuf cannot parse are named
/// as such.
bool parseModel(const uint8_t *data, size_t size, const std::string &baseDir,
                Model &model, std::string &error);

/// Reads and decodes `path`; errors name the file.
bool loadModelFile(const std::string &path, Model &model, std::string &error);

} // namespace accel::onnx

#endif // ACCEL_LIB_IMPORTERS_ONNX_ONNXMODEL_H
