//===- OnnxModel.cpp - ONNX ModelProto read through protobuf --------------===//
//
// libprotobuf (lite) parses the file with code generated from onnx-ml.proto
// of the pinned onnx release; this file turns the messages into the plain
// structs of OnnxModel.h. What protobuf cannot check is checked here, each
// error naming the message path (ModelProto.graph.initializer[3]): element
// types, shapes and payload sizes of tensors, which one field holds a
// tensor's data, and external data files (inside the model's directory, of
// the declared size). Tensor payloads come out as packed little-endian
// bytes whatever field held them.
//
//===----------------------------------------------------------------------===//

#include "lib/Importers/ONNX/OnnxModel.h"

#include "onnx-ml.pb.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

using namespace accel::onnx;
namespace fs = std::filesystem;

namespace {

struct ElemTypeInfo {
  const char *name;
  unsigned bits;
};

} // namespace

/// Indexed by TensorProto.DataType.
static const ElemTypeInfo kElemTypes[] = {
    {"UNDEFINED", 0},      {"FLOAT", 32},     {"UINT8", 8},
    {"INT8", 8},           {"UINT16", 16},    {"INT16", 16},
    {"INT32", 32},         {"INT64", 64},     {"STRING", 0},
    {"BOOL", 8},           {"FLOAT16", 16},   {"DOUBLE", 64},
    {"UINT32", 32},        {"UINT64", 64},    {"COMPLEX64", 64},
    {"COMPLEX128", 128},   {"BFLOAT16", 16},  {"FLOAT8E4M3FN", 8},
    {"FLOAT8E4M3FNUZ", 8}, {"FLOAT8E5M2", 8}, {"FLOAT8E5M2FNUZ", 8},
    {"UINT4", 4},          {"INT4", 4},       {"FLOAT4E2M1", 4},
    {"FLOAT8E8M0", 8},     {"UINT2", 2},      {"INT2", 2},
    {"FLOAT6E2M3", 6},     {"FLOAT6E3M2", 6},
};
static constexpr int32_t kNumElemTypes =
    static_cast<int32_t>(sizeof(kElemTypes) / sizeof(kElemTypes[0]));

const char *accel::onnx::elemTypeName(int32_t type) {
  if (type < 0 || type >= kNumElemTypes)
    return "UNKNOWN";
  return kElemTypes[type].name;
}

size_t accel::onnx::elemTypeBits(int32_t type) {
  if (type < 0 || type >= kNumElemTypes)
    return 0;
  return kElemTypes[type].bits;
}

size_t accel::onnx::elemTypeSize(int32_t type) {
  size_t bits = elemTypeBits(type);
  return bits % 8 == 0 ? bits / 8 : 0;
}

const Attribute *Node::attr(const std::string &attrName) const {
  for (const Attribute &a : attributes)
    if (a.name == attrName)
      return &a;
  return nullptr;
}

namespace {

/// Where the conversion is (the message path) and the first error.
class Reader {
public:
  explicit Reader(std::string baseDir) : baseDir(std::move(baseDir)) {}

  bool failed() const { return !error.empty(); }
  void fail(const std::string &what) {
    if (failed())
      return;
    error = what + " in " + path;
    // Names quoted from the file must not break the one-line message.
    for (char &c : error)
      if (static_cast<unsigned char>(c) < 0x20)
        c = '?';
  }

  std::string baseDir;
  std::string path;
  std::string error;
};

/// Appends ".name" or ".name[index]" to the message path while alive.
class Nested {
public:
  Nested(Reader &r, const char *name, size_t index = SIZE_MAX)
      : r(r), saved(r.path.size()) {
    r.path += (r.path.empty() ? "" : ".") + std::string(name);
    if (index != SIZE_MAX)
      r.path += "[" + std::to_string(index) + "]";
  }
  ~Nested() { r.path.resize(saved); }

private:
  Reader &r;
  size_t saved;
};

void appendLE(std::string &out, uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

template <typename Entries> Metadata metadataOf(const Entries &entries) {
  Metadata m;
  // A repeated key keeps its last value, as protobuf maps do.
  for (const ::onnx::StringStringEntryProto &e : entries)
    m[e.key()] = e.value();
  return m;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

/// The typed TensorProto field that holds each element type.
enum class TypedField { Float, Int32, String, Int64, Double, Uint64 };

TypedField typedFieldFor(int32_t type) {
  switch (static_cast<ElemType>(type)) {
  case ElemType::Float:
  case ElemType::Complex64:
    return TypedField::Float;
  case ElemType::Double:
  case ElemType::Complex128:
    return TypedField::Double;
  case ElemType::Int64:
    return TypedField::Int64;
  case ElemType::Uint32:
  case ElemType::Uint64:
    return TypedField::Uint64;
  case ElemType::String:
    return TypedField::String;
  default:
    // Every other type (8/16/32-bit integers, bool, the 16- and 8-bit floats
    // and the packed sub-byte types) travels in int32_data.
    return TypedField::Int32;
  }
}

std::string describeTensor(const Tensor &t) {
  return t.name.empty() ? std::string("unnamed tensor")
                        : "tensor '" + t.name + "'";
}

bool parseDecimal(const std::string &s, uint64_t &out) {
  if (s.empty())
    return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

/// Reads the `expected` payload bytes of `t` from the file its external_data
/// entries name.
void readExternal(Reader &r, const ::onnx::TensorProto &p, Tensor &t,
                  uint64_t expected) {
  std::string what = describeTensor(t);
  std::string location;
  uint64_t start = 0, length = 0;
  bool hasLength = false;
  for (const ::onnx::StringStringEntryProto &e : p.external_data()) {
    if (e.key() == "location") {
      location = e.value();
    } else if (e.key() == "offset" || e.key() == "length") {
      uint64_t n;
      if (!parseDecimal(e.value(), n))
        return r.fail("external data " + e.key() + " '" + e.value() + "' of " +
                      what + " is not a decimal integer");
      if (e.key() == "offset") {
        start = n;
      } else {
        length = n;
        hasLength = true;
      }
    }
  }
  if (r.baseDir.empty())
    return r.fail(what + " has external data, which is not allowed for a "
                         "model that was not loaded from a file");
  if (location.empty())
    return r.fail(what + " has external data without a location");
  // Only the textual path is constrained: symlinks stay allowed because
  // model caches (e.g. Hugging Face's) store every file as one.
  fs::path rel(location);
  if (rel.is_absolute() || rel.has_root_name())
    return r.fail("external data location '" + location + "' of " + what +
                  " is an absolute path");
  for (const fs::path &part : rel)
    if (part == "..")
      return r.fail("external data location '" + location + "' of " + what +
                    " leaves the model directory");
  std::string file = (fs::path(r.baseDir) / rel).string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    return r.fail("external data file '" + file + "' of " + what +
                  " is not a readable file");
  uint64_t fileSize = fs::file_size(file, ec);
  if (ec)
    return r.fail("cannot read external data file '" + file + "' of " + what +
                  ": " + ec.message());
  if (start > fileSize || (hasLength && length > fileSize - start))
    return r.fail("external data of " + what + " (offset " +
                  std::to_string(start) + ", length " +
                  std::to_string(hasLength ? length : 0) +
                  ") runs past the end of '" + file + "' (" +
                  std::to_string(fileSize) + " bytes)");
  if (!hasLength)
    length = fileSize - start;
  // Checked before reading so that a bogus length never allocates.
  if (length != expected)
    return r.fail(what + " has " + std::to_string(length) +
                  " bytes of external data, expected " +
                  std::to_string(expected));
  std::ifstream in(file, std::ios::binary);
  t.bytes.resize(static_cast<size_t>(length));
  in.seekg(static_cast<std::streamoff>(start));
  if (length != 0)
    in.read(&t.bytes[0], static_cast<std::streamsize>(length));
  if (!in)
    r.fail("cannot read external data of " + what + " from '" + file +
           "': " + std::strerror(errno));
}

/// The int32_data values as packed bytes for element type `type`.
void packInt32Data(const google::protobuf::RepeatedField<int32_t> &values,
                   int32_t type, std::string &out) {
  size_t bits = elemTypeBits(type);
  if (bits >= 8) {
    for (int32_t v : values)
      appendLE(out, static_cast<uint32_t>(v), static_cast<unsigned>(bits / 8));
    return;
  }
  if (bits != 6) {
    // 4- and 2-bit values arrive already packed, one byte per entry.
    for (int32_t v : values)
      out.push_back(static_cast<char>(v & 0xff));
    return;
  }
  // 6-bit values arrive one per entry and form an LSB-first bit stream.
  uint32_t acc = 0;
  unsigned held = 0;
  for (int32_t v : values) {
    acc |= (static_cast<uint32_t>(v) & 0x3f) << held;
    held += 6;
    while (held >= 8) {
      out.push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      held -= 8;
    }
  }
  if (held > 0)
    out.push_back(static_cast<char>(acc & 0xff));
}

template <typename T>
std::string bytesOf(const google::protobuf::RepeatedField<T> &values) {
  std::string out(static_cast<size_t>(values.size()) * sizeof(T), '\0');
  if (!out.empty())
    std::memcpy(&out[0], values.data(), out.size());
  return out;
}

/// Checks the element type and shape of `p`, then moves whichever field
/// holds its payload into t.bytes (or t.strings) and checks its size. The
/// raw_data of `p` is moved out, not copied.
void convertTensor(Reader &r, ::onnx::TensorProto &p, Tensor &t) {
  t.name = p.name();
  t.elemType = p.data_type();
  t.dims.assign(p.dims().begin(), p.dims().end());
  t.metadata = metadataOf(p.metadata_props());
  std::string what = describeTensor(t);
  if (t.elemType == 0 || (elemTypeBits(t.elemType) == 0 &&
                          t.elemType != int32_t(ElemType::String)))
    return r.fail(what + " has unsupported data type " +
                  std::to_string(t.elemType));

  bool external = p.data_location() == ::onnx::TensorProto::EXTERNAL;
  enum class Source { None, Raw, External, Typed };
  struct Candidate {
    bool present;
    const char *name;
    Source source;
    TypedField field;
  };
  const Candidate candidates[] = {
      {p.has_raw_data(), "raw_data", Source::Raw, TypedField::Float},
      {external, "external_data", Source::External, TypedField::Float},
      {p.float_data_size() > 0, "float_data", Source::Typed, TypedField::Float},
      {p.int32_data_size() > 0, "int32_data", Source::Typed, TypedField::Int32},
      {p.string_data_size() > 0, "string_data", Source::Typed,
       TypedField::String},
      {p.int64_data_size() > 0, "int64_data", Source::Typed, TypedField::Int64},
      {p.double_data_size() > 0, "double_data", Source::Typed,
       TypedField::Double},
      {p.uint64_data_size() > 0, "uint64_data", Source::Typed,
       TypedField::Uint64},
  };
  const Candidate *used = nullptr;
  for (const Candidate &c : candidates) {
    if (!c.present)
      continue;
    if (used)
      return r.fail(what + " has data in both " + used->name + " and " +
                    c.name);
    used = &c;
  }
  Source source = used ? used->source : Source::None;
  TypedField field = typedFieldFor(t.elemType);
  std::string typeName = elemTypeName(t.elemType);
  // Typed fields may only hold the types the spec assigns to them; STRING
  // data may only be in string_data.
  if ((source == Source::Typed && used->field != field) ||
      (field == TypedField::String && source != Source::None &&
       source != Source::Typed))
    return r.fail(what + " of type " + typeName + " cannot hold data in " +
                  used->name);

  bool empty = false;
  for (int64_t dim : t.dims) {
    if (dim < 0)
      return r.fail(what + " has negative dimension " + std::to_string(dim));
    empty |= dim == 0;
  }
  // Capped so that numel * bits below cannot overflow, and counting every
  // dim, also beside a zero one: the importer builds a tensor type of it.
  const uint64_t kMaxNumel =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 256;
  uint64_t numel = 1;
  for (int64_t dim : t.dims) {
    if (dim == 0)
      continue;
    if (numel > kMaxNumel / static_cast<uint64_t>(dim))
      return r.fail(what + " has too many elements");
    numel *= static_cast<uint64_t>(dim);
  }
  if (empty)
    numel = 0;

  if (field == TypedField::String) {
    t.strings.assign(p.string_data().begin(), p.string_data().end());
    if (t.strings.size() != numel)
      return r.fail(what + " has " + std::to_string(t.strings.size()) +
                    " strings, expected " + std::to_string(numel));
    return;
  }

  size_t bits = elemTypeBits(t.elemType);
  uint64_t expected = (numel * bits + 7) / 8;
  if (source == Source::Raw) {
    t.bytes = std::move(*p.mutable_raw_data());
  } else if (source == Source::External) {
    readExternal(r, p, t, expected);
  } else if (source == Source::Typed) {
    switch (field) {
    case TypedField::Float:
      t.bytes = bytesOf(p.float_data());
      break;
    case TypedField::Double:
      t.bytes = bytesOf(p.double_data());
      break;
    case TypedField::Int64:
      t.bytes = bytesOf(p.int64_data());
      break;
    case TypedField::Uint64:
      for (uint64_t v : p.uint64_data())
        appendLE(t.bytes, v, static_cast<unsigned>(bits / 8));
      break;
    case TypedField::Int32:
      // 6-bit values take one entry each but pack into fewer bytes, so a
      // wrong count need not show in the byte size.
      if (bits == 6 && static_cast<uint64_t>(p.int32_data_size()) != numel)
        return r.fail(what + " has " + std::to_string(p.int32_data_size()) +
                      " int32_data values, expected " + std::to_string(numel));
      packInt32Data(p.int32_data(), t.elemType, t.bytes);
      break;
    case TypedField::String:
      break;
    }
  }
  if (!r.failed() && t.bytes.size() != expected)
    r.fail(what + " has " + std::to_string(t.bytes.size()) +
           " bytes of data, expected " + std::to_string(expected) + " (" +
           std::to_string(numel) + " x " + typeName + ")");
}

//===----------------------------------------------------------------------===//
// Types and value infos
//===----------------------------------------------------------------------===//

void convertValueInfo(Reader &r, const ::onnx::ValueInfoProto &p,
                      ValueInfo &vi) {
  vi.name = p.name();
  vi.metadata = metadataOf(p.metadata_props());
  if (!p.has_type())
    return;
  const ::onnx::TypeProto &type = p.type();
  if (!type.has_tensor_type()) {
    // Sequence, map, optional, sparse and opaque values.
    vi.isTensor = type.value_case() == ::onnx::TypeProto::VALUE_NOT_SET;
    return;
  }
  const ::onnx::TypeProto::Tensor &tensor = type.tensor_type();
  vi.elemType = tensor.elem_type();
  if (!tensor.has_shape())
    return;
  vi.hasShape = true;
  Nested n(r, "type.tensor_type.shape");
  for (int i = 0; i < tensor.shape().dim_size(); ++i) {
    const ::onnx::TensorShapeProto::Dimension &d = tensor.shape().dim(i);
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) {
        Nested nd(r, "dim", i);
        r.fail("negative dim_value " + std::to_string(d.dim_value()));
      }
      vi.dims.push_back(d.dim_value());
      vi.dimParams.emplace_back();
    } else {
      vi.dims.push_back(-1);
      vi.dimParams.push_back(d.has_dim_param() ? d.dim_param() : "");
    }
  }
}

//===----------------------------------------------------------------------===//
// Graphs, nodes, attributes, functions
//===----------------------------------------------------------------------===//

void convertGraph(Reader &r, ::onnx::GraphProto &p, Graph &g);

void convertAttribute(Reader &r, ::onnx::AttributeProto &p, Attribute &a) {
  a.name = p.name();
  a.kind = p.type();
  a.f = p.f();
  a.i = p.i();
  a.s = p.s();
  a.refAttrName = p.ref_attr_name();
  a.floats.assign(p.floats().begin(), p.floats().end());
  a.ints.assign(p.ints().begin(), p.ints().end());
  a.strings.assign(p.strings().begin(), p.strings().end());
  if (p.has_t()) {
    Nested n(r, "t");
    convertTensor(r, *p.mutable_t(), a.t);
  }
  if (p.has_g()) {
    Nested n(r, "g");
    a.g = std::make_shared<Graph>();
    convertGraph(r, *p.mutable_g(), *a.g);
  }
  for (int i = 0; i < p.tensors_size(); ++i) {
    Nested n(r, "tensors", i);
    convertTensor(r, *p.mutable_tensors(i), a.tensors.emplace_back());
  }
  for (int i = 0; i < p.graphs_size(); ++i) {
    Nested n(r, "graphs", i);
    a.graphs.push_back(std::make_shared<Graph>());
    convertGraph(r, *p.mutable_graphs(i), *a.graphs.back());
  }
  if (a.kind != Attribute::Undefined)
    return;
  // Attributes written before `type` was mandatory: the field that is set.
  const std::pair<bool, Attribute::Kind> kFieldKinds[] = {
      {p.has_f(), Attribute::Float},
      {p.has_i(), Attribute::Int},
      {p.has_s(), Attribute::String},
      {p.has_t(), Attribute::TensorKind},
      {p.has_g(), Attribute::GraphKind},
      {p.floats_size() > 0, Attribute::Floats},
      {p.ints_size() > 0, Attribute::Ints},
      {p.strings_size() > 0, Attribute::Strings},
      {p.tensors_size() > 0, Attribute::Tensors},
      {p.graphs_size() > 0, Attribute::Graphs},
  };
  for (const auto &[set, kind] : kFieldKinds)
    if (set) {
      a.kind = kind;
      return;
    }
}

void convertNode(Reader &r, ::onnx::NodeProto &p, Node &node) {
  node.name = p.name();
  node.opType = p.op_type();
  node.domain = p.domain() == "ai.onnx" ? "" : p.domain();
  node.inputs.assign(p.input().begin(), p.input().end());
  node.outputs.assign(p.output().begin(), p.output().end());
  node.metadata = metadataOf(p.metadata_props());
  for (int i = 0; i < p.attribute_size(); ++i) {
    Nested n(r, "attribute", i);
    convertAttribute(r, *p.mutable_attribute(i),
                     node.attributes.emplace_back());
  }
}

template <typename Imports>
std::map<std::string, int64_t> opsetsOf(const Imports &imports) {
  std::map<std::string, int64_t> out;
  for (const ::onnx::OperatorSetIdProto &o : imports)
    out[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  return out;
}

/// The first of `names` that a node of `g` or of its subgraphs reads or that
/// `g` outputs; null when none is used.
const std::string *findUse(const Graph &g, const std::set<std::string> &names) {
  for (const ValueInfo &out : g.outputs)
    if (names.count(out.name))
      return &out.name;
  for (const Node &node : g.nodes) {
    for (const std::string &in : node.inputs)
      if (names.count(in))
        return &in;
    for (const Attribute &a : node.attributes) {
      if (a.g)
        if (const std::string *use = findUse(*a.g, names))
          return use;
      for (const auto &sub : a.graphs)
        if (const std::string *use = findUse(*sub, names))
          return use;
    }
  }
  return nullptr;
}

void convertGraph(Reader &r, ::onnx::GraphProto &p, Graph &g) {
  g.name = p.name();
  for (int i = 0; i < p.node_size() && !r.failed(); ++i) {
    Nested n(r, "node", i);
    convertNode(r, *p.mutable_node(i), g.nodes.emplace_back());
  }
  for (int i = 0; i < p.initializer_size() && !r.failed(); ++i) {
    Nested n(r, "initializer", i);
    convertTensor(r, *p.mutable_initializer(i), g.initializers.emplace_back());
    // The payload now lives in the struct; drop the message's copy early.
    p.mutable_initializer(i)->Clear();
  }
  struct {
    const char *name;
    const google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> &from;
    std::vector<ValueInfo> &to;
  } lists[] = {{"input", p.input(), g.inputs},
               {"output", p.output(), g.outputs},
               {"value_info", p.value_info(), g.valueInfo}};
  for (auto &list : lists)
    for (int i = 0; i < list.from.size() && !r.failed(); ++i) {
      Nested n(r, list.name, i);
      convertValueInfo(r, list.from.Get(i), list.to.emplace_back());
    }
  // An unused sparse initializer is harmless; a used one would be a missing
  // value to the importer, so it is rejected here.
  std::set<std::string> sparse;
  for (const ::onnx::SparseTensorProto &s : p.sparse_initializer())
    sparse.insert(s.values().name());
  if (!sparse.empty() && !r.failed())
    if (const std::string *use = findUse(g, sparse))
      r.fail("sparse initializer '" + *use + "' is not supported");
}

void convertFunction(Reader &r, ::onnx::FunctionProto &p, Function &fn) {
  fn.name = p.name();
  fn.domain = p.domain();
  fn.inputs.assign(p.input().begin(), p.input().end());
  fn.outputs.assign(p.output().begin(), p.output().end());
  fn.attributeNames.assign(p.attribute().begin(), p.attribute().end());
  fn.opsetImports = opsetsOf(p.opset_import());
  for (int i = 0; i < p.node_size() && !r.failed(); ++i) {
    Nested n(r, "node", i);
    convertNode(r, *p.mutable_node(i), fn.nodes.emplace_back());
  }
  for (int i = 0; i < p.attribute_proto_size() && !r.failed(); ++i) {
    Nested n(r, "attribute_proto", i);
    Attribute &a = fn.attributeDefaults.emplace_back();
    convertAttribute(r, *p.mutable_attribute_proto(i), a);
    fn.attributeNames.push_back(a.name);
  }
}

bool convertModel(::onnx::ModelProto &p, const std::string &baseDir,
                  Model &model, std::string &error) {
  Reader r(baseDir);
  Nested root(r, "ModelProto");
  model = Model();
  if (!p.has_graph()) {
    r.fail("missing graph");
  } else {
    model.irVersion = p.ir_version();
    model.producerName = p.producer_name();
    model.producerVersion = p.producer_version();
    model.opsetImports = opsetsOf(p.opset_import());
    model.metadata = metadataOf(p.metadata_props());
    {
      Nested n(r, "graph");
      convertGraph(r, *p.mutable_graph(), model.graph);
    }
    for (int i = 0; i < p.functions_size() && !r.failed(); ++i) {
      Nested n(r, "functions", i);
      convertFunction(r, *p.mutable_functions(i),
                      model.functions.emplace_back());
    }
  }
  if (!r.failed())
    return true;
  error = r.error;
  model = Model();
  return false;
}

} // namespace

bool accel::onnx::parseModel(const uint8_t *data, size_t size,
                             const std::string &baseDir, Model &model,
                             std::string &error) {
  ::onnx::ModelProto proto;
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !proto.ParseFromArray(data, static_cast<int>(size))) {
    // protobuf says no more than that the bytes are not a ModelProto
    // (truncated, a field of the wrong wire type, a string cut short, ...).
    error = size > static_cast<size_t>(std::numeric_limits<int>::max())
                ? "the file is over 2 GiB, the most a protobuf message may "
                  "hold (large weights belong in external data)"
                : "not a valid ONNX ModelProto (protobuf cannot parse it: "
                  "truncated or damaged?)";
    model = Model();
    return false;
  }
  return convertModel(proto, baseDir, model, error);
}

bool accel::onnx::loadModelFile(const std::string &path, Model &model,
                                std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = "cannot read '" + path + "': not a regular file";
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  // Mapped, not read: the parsed messages are the only copy on the heap.
  void *bytes =
      size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
  int mapError = errno;
  ::close(fd);
  if (bytes == MAP_FAILED) {
    error = "cannot read '" + path + "': " + std::strerror(mapError);
    return false;
  }
  std::string baseDir = fs::path(path).parent_path().string();
  if (baseDir.empty())
    baseDir = ".";
  bool ok = parseModel(static_cast<const uint8_t *>(bytes), size, baseDir,
                       model, error);
  if (bytes)
    ::munmap(bytes, size);
  if (!ok)
    error = path + ": " + error;
  return ok;
}
