//===- OnnxModelTest.cpp - Tests of the ONNX protobuf reader --------------===//
//
// Encodes small ModelProtos by hand with a minimal protobuf writer and checks
// what accel::onnx::parseModel (libprotobuf, then the conversion to structs)
// makes of them: every field kind, packed and unpacked repeated fields, each
// typed tensor data field, external data, and errors (with the message path)
// for malformed input, including every truncation of a valid model and
// random corruptions of one.
//
//===----------------------------------------------------------------------===//

#include "lib/Importers/ONNX/OnnxModel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace accel::onnx;
namespace fs = std::filesystem;

namespace {

/// Builds one protobuf message in wire format.
class Proto {
public:
  static std::string varintBytes(uint64_t v) {
    std::string out;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out += static_cast<char>(v ? b | 0x80 : b);
    } while (v);
    return out;
  }

  Proto &key(uint32_t field, unsigned wire) {
    buf += varintBytes((uint64_t(field) << 3) | wire);
    return *this;
  }
  Proto &raw(const std::string &bytes) {
    buf += bytes;
    return *this;
  }
  Proto &varint(uint32_t field, uint64_t v) {
    return key(field, 0).raw(varintBytes(v));
  }
  /// int32 and int64 values are sign-extended to 64 bits on the wire.
  Proto &sint(uint32_t field, int64_t v) {
    return varint(field, static_cast<uint64_t>(v));
  }
  Proto &fixed32(uint32_t field, uint32_t v) {
    key(field, 5);
    for (int i = 0; i < 4; ++i)
      buf += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Proto &f32(uint32_t field, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return fixed32(field, bits);
  }
  Proto &fixed64(uint32_t field, uint64_t v) {
    key(field, 1);
    for (int i = 0; i < 8; ++i)
      buf += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Proto &f64(uint32_t field, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return fixed64(field, bits);
  }
  Proto &bytes(uint32_t field, const std::string &s) {
    return key(field, 2).raw(varintBytes(s.size())).raw(s);
  }
  Proto &msg(uint32_t field, const Proto &m) { return bytes(field, m.buf); }
  Proto &packedVarints(uint32_t field, const std::vector<int64_t> &vs) {
    std::string payload;
    for (int64_t v : vs)
      payload += varintBytes(static_cast<uint64_t>(v));
    return bytes(field, payload);
  }
  Proto &packedFloats(uint32_t field, const std::vector<float> &vs) {
    std::string payload(vs.size() * 4, '\0');
    if (!vs.empty())
      std::memcpy(&payload[0], vs.data(), payload.size());
    return bytes(field, payload);
  }
  Proto &packedDoubles(uint32_t field, const std::vector<double> &vs) {
    std::string payload(vs.size() * 8, '\0');
    if (!vs.empty())
      std::memcpy(&payload[0], vs.data(), payload.size());
    return bytes(field, payload);
  }

  const std::string &str() const { return buf; }
  size_t size() const { return buf.size(); }

private:
  std::string buf;
};

template <typename T> std::string bytesOf(const std::vector<T> &v) {
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty())
    std::memcpy(&s[0], v.data(), s.size());
  return s;
}

Proto tensorProto(const std::string &name, int32_t type,
                  const std::vector<int64_t> &dims) {
  Proto t;
  t.packedVarints(1, dims).sint(2, type).bytes(8, name);
  return t;
}

Proto valueInfo(const std::string &name, int32_t type,
                const std::vector<std::string> &dims) {
  Proto shape;
  for (const std::string &d : dims) {
    // "" leaves the dimension with neither dim_value nor dim_param.
    Proto dim;
    if (!d.empty() && d[0] >= '0' && d[0] <= '9')
      dim.sint(1, std::stoll(d));
    else if (!d.empty())
      dim.bytes(2, d);
    shape.msg(1, dim);
  }
  Proto tensorType;
  tensorType.sint(1, type).msg(2, shape);
  Proto type_;
  type_.msg(1, tensorType);
  Proto vi;
  vi.bytes(1, name).msg(2, type_);
  return vi;
}

/// A model whose graph holds `graph`; the graph comes last so that every
/// proper prefix of the encoding is invalid.
Proto modelWith(const Proto &graph) {
  Proto opset;
  opset.bytes(1, "").sint(2, 17);
  Proto m;
  m.sint(1, 8).bytes(2, "test").bytes(3, "1.0").msg(8, opset).msg(7, graph);
  return m;
}

bool parse(const Proto &p, Model &m, std::string &error,
           const std::string &baseDir = "") {
  return parseModel(reinterpret_cast<const uint8_t *>(p.str().data()), p.size(),
                    baseDir, m, error);
}

/// Parses a model expected to be valid.
Model parseOk(const Proto &p, const std::string &baseDir = "") {
  Model m;
  std::string error;
  EXPECT_TRUE(parse(p, m, error, baseDir)) << error;
  return m;
}

/// Parses a model expected to be rejected; returns the error.
std::string parseError(const Proto &p, const std::string &baseDir = "") {
  Model m;
  std::string error;
  EXPECT_FALSE(parse(p, m, error, baseDir));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  return error;
}

/// A graph holding one initializer.
Proto graphWithTensor(const Proto &tensor) {
  Proto g;
  g.bytes(2, "g").msg(5, tensor);
  return g;
}

Tensor parseTensor(const Proto &tensor, const std::string &baseDir = "") {
  Model m = parseOk(modelWith(graphWithTensor(tensor)), baseDir);
  if (m.graph.initializers.size() != 1) {
    ADD_FAILURE() << "no initializer decoded";
    return Tensor();
  }
  return m.graph.initializers[0];
}

std::string tensorError(const Proto &tensor, const std::string &baseDir = "") {
  return parseError(modelWith(graphWithTensor(tensor)), baseDir);
}

/// The rich model used by the truncation and corruption tests.
Proto richModel() {
  Proto sub;
  sub.bytes(2, "body")
      .msg(1, Proto().bytes(1, "x").bytes(2, "y").bytes(4, "Identity"))
      .msg(12, valueInfo("y", 1, {"2"}));
  Proto attrs[] = {
      Proto().bytes(1, "alpha").f32(2, 0.5f).sint(20, Attribute::Float),
      Proto().bytes(1, "axis").sint(3, -1).sint(20, Attribute::Int),
      Proto().bytes(1, "mode").bytes(4, "linear").sint(20, Attribute::String),
      Proto().bytes(1, "ints").packedVarints(8, {1, -2, 3}).sint(20, 7),
      Proto().bytes(1, "floats").packedFloats(7, {1.f, 2.f}).sint(20, 6),
      Proto().bytes(1, "body").msg(6, sub).sint(20, Attribute::GraphKind),
      Proto()
          .bytes(1, "value")
          .msg(5, tensorProto("c", 7, {2}).packedVarints(7, {5, -6}))
          .sint(20, Attribute::TensorKind),
  };
  Proto node;
  node.bytes(1, "x").bytes(1, "w").bytes(2, "y").bytes(3, "n0").bytes(4, "Op");
  for (const Proto &a : attrs)
    node.msg(5, a);
  Proto g;
  g.msg(1, node)
      .bytes(2, "main")
      .msg(5, tensorProto("w", 1, {2, 2}).packedFloats(4, {1, 2, 3, 4}))
      .msg(5, tensorProto("b", 6, {2}).packedVarints(5, {7, -8}))
      .msg(11, valueInfo("x", 1, {"N", "4"}))
      .msg(12, valueInfo("y", 1, {"N", ""}));
  Proto fn;
  fn.bytes(1, "F")
      .bytes(10, "local")
      .bytes(4, "a")
      .bytes(5, "b")
      .msg(7, Proto().bytes(1, "a").bytes(2, "b").bytes(4, "Relu"));
  Proto m;
  m.sint(1, 9)
      .bytes(2, "rich")
      .msg(8, Proto().bytes(1, "").sint(2, 18))
      .msg(25, fn)
      .msg(7, g);
  return m;
}

class TempDir : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "onnxmodeltest.XXXXXX").string();
    ASSERT_NE(mkdtemp(&pattern[0]), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  void writeFile(const std::string &name, const std::string &bytes) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  fs::path dir;
};

} // namespace

//===----------------------------------------------------------------------===//
// Model, graph, node, value info, function
//===----------------------------------------------------------------------===//

TEST(OnnxModel, DecodesModelFields) {
  Proto g;
  g.bytes(2, "main");
  Proto m;
  m.sint(1, 8)
      .bytes(2, "pytorch")
      .bytes(3, "2.4")
      .bytes(6, "doc strings are skipped")
      .msg(8, Proto().bytes(1, "ai.onnx").sint(2, 17))
      .msg(8, Proto().bytes(1, "com.microsoft").sint(2, 1))
      .msg(7, g);
  Model model = parseOk(m);
  EXPECT_EQ(model.irVersion, 8);
  EXPECT_EQ(model.producerName, "pytorch");
  EXPECT_EQ(model.producerVersion, "2.4");
  // "ai.onnx" is the default domain, recorded as "".
  EXPECT_EQ(model.opsetImports.size(), 2u);
  EXPECT_EQ(model.opsetImports[""], 17);
  EXPECT_EQ(model.opsetImports["com.microsoft"], 1);
  EXPECT_EQ(model.graph.name, "main");
}

TEST(OnnxModel, DecodesGraphAndNodes) {
  Model m = parseOk(richModel());
  const Graph &g = m.graph;
  EXPECT_EQ(g.name, "main");
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node &n = g.nodes[0];
  EXPECT_EQ(n.name, "n0");
  EXPECT_EQ(n.opType, "Op");
  EXPECT_EQ(n.domain, "");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"x", "w"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"y"}));
  ASSERT_EQ(g.initializers.size(), 2u);
  EXPECT_EQ(g.initializers[0].name, "w");
  EXPECT_EQ(g.initializers[1].name, "b");
  ASSERT_EQ(g.inputs.size(), 1u);
  ASSERT_EQ(g.outputs.size(), 1u);
  ASSERT_EQ(m.functions.size(), 1u);
  EXPECT_EQ(m.opsetImports.at(""), 18);
}

TEST(OnnxModel, DecodesNodeDomainAndOmittedInputs) {
  Proto node;
  node.bytes(1, "a")
      .bytes(1, "")
      .bytes(1, "c")
      .bytes(2, "y")
      .bytes(4, "Clip")
      .bytes(7, "com.example")
      .bytes(6, "doc");
  Proto g;
  g.msg(1, node);
  Model m = parseOk(modelWith(g));
  const Node &n = m.graph.nodes.at(0);
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(n.domain, "com.example");
}

TEST(OnnxModel, DecodesValueInfo) {
  Proto seqType;
  seqType.msg(4, Proto().msg(1, Proto().msg(1, Proto().sint(1, 1))));
  Proto optType;
  optType.msg(9, Proto());
  Proto g;
  g.msg(11, valueInfo("x", 1, {"batch", "3", ""}))
      .msg(11, Proto().bytes(1, "seq").msg(2, seqType))
      .msg(11, Proto().bytes(1, "opt").msg(2, optType))
      // A tensor type without a shape: rank unknown.
      .msg(12, Proto().bytes(1, "y").msg(2, Proto().msg(1, Proto().sint(1, 7))))
      // A scalar: a shape with no dims.
      .msg(13, Proto().bytes(1, "s").msg(
                   2, Proto().msg(1, Proto().sint(1, 11).msg(2, Proto()))));
  Model m = parseOk(modelWith(g));
  const ValueInfo &x = m.graph.inputs.at(0);
  EXPECT_EQ(x.name, "x");
  EXPECT_TRUE(x.isTensor);
  EXPECT_EQ(x.elemType, 1);
  EXPECT_TRUE(x.hasShape);
  EXPECT_EQ(x.dims, (std::vector<int64_t>{-1, 3, -1}));
  EXPECT_EQ(x.dimParams, (std::vector<std::string>{"batch", "", ""}));
  EXPECT_FALSE(m.graph.inputs.at(1).isTensor);
  EXPECT_FALSE(m.graph.inputs.at(2).isTensor);
  const ValueInfo &y = m.graph.outputs.at(0);
  EXPECT_TRUE(y.isTensor);
  EXPECT_EQ(y.elemType, 7);
  EXPECT_FALSE(y.hasShape);
  const ValueInfo &s = m.graph.valueInfo.at(0);
  EXPECT_TRUE(s.hasShape);
  EXPECT_TRUE(s.dims.empty());
  EXPECT_EQ(s.elemType, 11);
}

TEST(OnnxModel, DecodesMetadataProps) {
  // metadata_props: ModelProto 14, NodeProto 9, ValueInfoProto 4,
  // TensorProto 16; a repeated key keeps its last value.
  auto entry = [](const char *k, const char *v) {
    return Proto().bytes(1, k).bytes(2, v);
  };
  Proto init = tensorProto("w", 1, {1});
  init.bytes(9, bytesOf(std::vector<float>{1.0f})).msg(16, entry("t", "1"));
  Proto node;
  node.bytes(1, "x").bytes(2, "y").bytes(4, "Relu").msg(9, entry("n", "2"));
  Proto vi = valueInfo("w", 1, {"1"});
  vi.msg(4, entry("pkg.kind", "BUFFER")).msg(4, entry("pkg.kind", "PARAMETER"));
  Proto g;
  g.msg(1, node).msg(5, init).msg(13, vi);
  Proto m;
  m.sint(1, 10)
      .msg(8, Proto().bytes(1, "").sint(2, 20))
      .msg(7, g)
      .msg(14, entry("accel.hf_config", "{}"));
  Model model = parseOk(m);
  EXPECT_EQ(model.metadata.at("accel.hf_config"), "{}");
  EXPECT_EQ(model.graph.nodes.at(0).metadata.at("n"), "2");
  EXPECT_EQ(model.graph.initializers.at(0).metadata.at("t"), "1");
  EXPECT_EQ(model.graph.valueInfo.at(0).metadata.size(), 1u);
  EXPECT_EQ(model.graph.valueInfo.at(0).metadata.at("pkg.kind"), "PARAMETER");
}

TEST(OnnxModel, DecodesFunctions) {
  Proto fn;
  fn.bytes(1, "Gelu2")
      .bytes(10, "custom")
      .bytes(4, "x")
      .bytes(5, "y")
      .bytes(6, "approx")
      .msg(11, Proto().bytes(1, "scale").f32(2, 2.0f).sint(20, 1))
      .msg(7, Proto().bytes(1, "x").bytes(2, "y").bytes(4, "Gelu"))
      .msg(9, Proto().bytes(1, "").sint(2, 20));
  Proto m;
  m.msg(25, fn).msg(7, Proto());
  Model model = parseOk(m);
  ASSERT_EQ(model.functions.size(), 1u);
  const Function &f = model.functions[0];
  EXPECT_EQ(f.name, "Gelu2");
  EXPECT_EQ(f.domain, "custom");
  EXPECT_EQ(f.inputs, (std::vector<std::string>{"x"}));
  EXPECT_EQ(f.outputs, (std::vector<std::string>{"y"}));
  EXPECT_EQ(f.attributeNames, (std::vector<std::string>{"approx", "scale"}));
  ASSERT_EQ(f.attributeDefaults.size(), 1u);
  EXPECT_EQ(f.attributeDefaults[0].f, 2.0f);
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_EQ(f.nodes[0].opType, "Gelu");
  EXPECT_EQ(f.opsetImports.at(""), 20);
}

TEST(OnnxModel, SkipsUnknownFieldsOfEveryWireType) {
  Proto g;
  g.varint(100, 5).fixed32(101, 7).fixed64(102, 9).bytes(103, "zz").bytes(
      2, "main");
  Proto m;
  m.varint(99, 1).fixed64(98, 2).fixed32(97, 3).bytes(96, "x").msg(7, g);
  EXPECT_EQ(parseOk(m).graph.name, "main");
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

static Attribute parseAttribute(const Proto &attr) {
  Proto g;
  g.msg(1, Proto().bytes(4, "Op").msg(5, attr));
  Model m = parseOk(modelWith(g));
  if (m.graph.nodes.size() != 1 || m.graph.nodes[0].attributes.size() != 1) {
    ADD_FAILURE() << "attribute not decoded";
    return Attribute();
  }
  return m.graph.nodes[0].attributes[0];
}

TEST(OnnxModel, DecodesScalarAttributes) {
  Attribute f = parseAttribute(Proto().bytes(1, "f").f32(2, 1.5f).sint(20, 1));
  EXPECT_EQ(f.name, "f");
  EXPECT_EQ(f.kind, Attribute::Float);
  EXPECT_EQ(f.f, 1.5f);
  Attribute i = parseAttribute(Proto().bytes(1, "i").sint(3, -7).sint(20, 2));
  EXPECT_EQ(i.kind, Attribute::Int);
  EXPECT_EQ(i.i, -7);
  Attribute big =
      parseAttribute(Proto().bytes(1, "i").sint(3, INT64_MIN).sint(20, 2));
  EXPECT_EQ(big.i, INT64_MIN);
  Attribute s =
      parseAttribute(Proto().bytes(1, "s").bytes(4, std::string("a\0b", 3)));
  EXPECT_EQ(s.s, std::string("a\0b", 3));
  // Attributes from before `type` was mandatory get it from their value.
  EXPECT_EQ(s.kind, Attribute::String);
  Attribute r = parseAttribute(
      Proto().bytes(1, "alpha").sint(20, 1).bytes(21, "outer_alpha"));
  EXPECT_EQ(r.refAttrName, "outer_alpha");
  EXPECT_EQ(r.kind, Attribute::Float);
}

TEST(OnnxModel, DecodesRepeatedAttributesPackedAndUnpacked) {
  Attribute packed = parseAttribute(Proto()
                                        .bytes(1, "ints")
                                        .packedVarints(8, {1, -2, 1LL << 40})
                                        .packedFloats(7, {0.25f, -1.f})
                                        .sint(20, Attribute::Ints));
  EXPECT_EQ(packed.ints, (std::vector<int64_t>{1, -2, 1LL << 40}));
  EXPECT_EQ(packed.floats, (std::vector<float>{0.25f, -1.f}));

  Attribute unpacked = parseAttribute(Proto()
                                          .bytes(1, "ints")
                                          .sint(8, 4)
                                          .sint(8, -5)
                                          .f32(7, 3.f)
                                          .f32(7, 4.f)
                                          .bytes(9, "p")
                                          .bytes(9, "q"));
  EXPECT_EQ(unpacked.ints, (std::vector<int64_t>{4, -5}));
  EXPECT_EQ(unpacked.floats, (std::vector<float>{3.f, 4.f}));
  EXPECT_EQ(unpacked.strings, (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(unpacked.kind, Attribute::Floats);

  // A mix of both encodings in one field is legal protobuf.
  Attribute mixed = parseAttribute(
      Proto().bytes(1, "m").sint(8, 1).packedVarints(8, {2, 3}).sint(8, 4));
  EXPECT_EQ(mixed.ints, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(OnnxModel, DecodesTensorAndGraphAttributes) {
  Proto body;
  body.bytes(2, "then").msg(1, Proto().bytes(4, "Identity"));
  Attribute t = parseAttribute(
      Proto()
          .bytes(1, "value")
          .msg(5, tensorProto("v", 1, {2}).packedFloats(4, {1.f, 2.f}))
          .sint(20, Attribute::TensorKind));
  EXPECT_EQ(t.t.name, "v");
  EXPECT_EQ(t.t.bytes, bytesOf(std::vector<float>{1.f, 2.f}));
  Attribute g = parseAttribute(Proto().bytes(1, "then_branch").msg(6, body));
  ASSERT_TRUE(g.g);
  EXPECT_EQ(g.kind, Attribute::GraphKind);
  EXPECT_EQ(g.g->name, "then");
  EXPECT_EQ(g.g->nodes.at(0).opType, "Identity");
  Attribute ts = parseAttribute(
      Proto()
          .bytes(1, "ts")
          .msg(10, tensorProto("a", 7, {1}).packedVarints(7, {3}))
          .msg(10, tensorProto("b", 7, {}).packedVarints(7, {4}))
          .sint(20, Attribute::Tensors));
  ASSERT_EQ(ts.tensors.size(), 2u);
  EXPECT_EQ(ts.tensors[1].bytes, bytesOf(std::vector<int64_t>{4}));
  Attribute gs = parseAttribute(
      Proto().bytes(1, "gs").msg(11, body).msg(11, body).sint(20, 10));
  ASSERT_EQ(gs.graphs.size(), 2u);
  EXPECT_EQ(gs.graphs[1]->name, "then");
}

//===----------------------------------------------------------------------===//
// Tensor payloads
//===----------------------------------------------------------------------===//

TEST(OnnxModel, TensorRawData) {
  std::vector<float> values = {1.f, -2.f, 3.5f, 0.f, 8.f, 9.f};
  Tensor t = parseTensor(tensorProto("w", 1, {2, 3}).bytes(9, bytesOf(values)));
  EXPECT_EQ(t.name, "w");
  EXPECT_EQ(t.elemType, 1);
  EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.bytes, bytesOf(values));
}

TEST(OnnxModel, TensorDimsUnpackedAndScalar) {
  Proto t;
  t.sint(1, 2).sint(1, 1).sint(2, 7).bytes(8, "d").packedVarints(7, {1, 2});
  EXPECT_EQ(parseTensor(t).dims, (std::vector<int64_t>{2, 1}));
  Tensor scalar = parseTensor(Proto().sint(2, 1).f32(4, 2.5f));
  EXPECT_TRUE(scalar.dims.empty());
  EXPECT_EQ(scalar.bytes, bytesOf(std::vector<float>{2.5f}));
  Tensor empty = parseTensor(tensorProto("e", 1, {0, 5}));
  EXPECT_TRUE(empty.bytes.empty());
}

TEST(OnnxModel, TensorFloatData) {
  Tensor packed =
      parseTensor(tensorProto("f", 1, {3}).packedFloats(4, {1.f, 2.f, 3.f}));
  EXPECT_EQ(packed.bytes, bytesOf(std::vector<float>{1.f, 2.f, 3.f}));
  Tensor unpacked =
      parseTensor(tensorProto("f", 1, {2}).f32(4, -1.f).f32(4, 0.5f));
  EXPECT_EQ(unpacked.bytes, bytesOf(std::vector<float>{-1.f, 0.5f}));
  // COMPLEX64 stores (real, imaginary) pairs in float_data.
  Tensor complex =
      parseTensor(tensorProto("c", 14, {1}).packedFloats(4, {1.f, 2.f}));
  EXPECT_EQ(complex.bytes, bytesOf(std::vector<float>{1.f, 2.f}));
}

TEST(OnnxModel, TensorInt32DataCarriesSmallTypes) {
  EXPECT_EQ(
      parseTensor(tensorProto("a", 6, {2}).packedVarints(5, {-5, 70000})).bytes,
      bytesOf(std::vector<int32_t>{-5, 70000}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 3, {3}).packedVarints(5, {-3, 127, -128}))
          .bytes,
      bytesOf(std::vector<int8_t>{-3, 127, -128}));
  EXPECT_EQ(parseTensor(tensorProto("a", 2, {2}).sint(5, 255).sint(5, 7)).bytes,
            bytesOf(std::vector<uint8_t>{255, 7}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 5, {2}).packedVarints(5, {-300, 300})).bytes,
      bytesOf(std::vector<int16_t>{-300, 300}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 4, {1}).packedVarints(5, {65535})).bytes,
      bytesOf(std::vector<uint16_t>{65535}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 9, {3}).packedVarints(5, {1, 0, 1})).bytes,
      bytesOf(std::vector<uint8_t>{1, 0, 1}));
  // 16-bit floats travel as their bit patterns.
  EXPECT_EQ(
      parseTensor(tensorProto("a", 10, {2}).packedVarints(5, {0x3c00, 0xc000}))
          .bytes,
      bytesOf(std::vector<uint16_t>{0x3c00, 0xc000}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 16, {1}).packedVarints(5, {0x3f80})).bytes,
      bytesOf(std::vector<uint16_t>{0x3f80}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 17, {2}).packedVarints(5, {0x38, 0xb8}))
          .bytes,
      bytesOf(std::vector<uint8_t>{0x38, 0xb8}));
}

TEST(OnnxModel, TensorSubByteTypes) {
  // INT4: two elements per byte, one byte per int32_data entry.
  Tensor int4 =
      parseTensor(tensorProto("a", 22, {3}).packedVarints(5, {0x21, 0x03}));
  EXPECT_EQ(int4.bytes, std::string("\x21\x03", 2));
  Tensor uint2 =
      parseTensor(tensorProto("a", 25, {5}).packedVarints(5, {0xe4, 0x01}));
  EXPECT_EQ(uint2.bytes, std::string("\xe4\x01", 2));
  // FLOAT6: one element per entry, packed into an LSB-first bit stream.
  Tensor f6 =
      parseTensor(tensorProto("a", 27, {4}).packedVarints(5, {1, 2, 3, 4}));
  EXPECT_EQ(f6.bytes, std::string("\x81\x30\x10", 3));
  Tensor raw4 = parseTensor(tensorProto("a", 21, {3}).bytes(9, "\x12\x03"));
  EXPECT_EQ(raw4.bytes.size(), 2u);
  EXPECT_EQ(elemTypeSize(22), 0u);
  EXPECT_EQ(elemTypeBits(22), 4u);
  EXPECT_NE(tensorError(tensorProto("a", 27, {4}).packedVarints(5, {1, 2, 3}))
                .find("3 int32_data values, expected 4"),
            std::string::npos);
}

TEST(OnnxModel, TensorInt64DoubleUint64Data) {
  EXPECT_EQ(
      parseTensor(tensorProto("a", 7, {3}).packedVarints(7, {-1, 0, 1LL << 50}))
          .bytes,
      bytesOf(std::vector<int64_t>{-1, 0, 1LL << 50}));
  EXPECT_EQ(parseTensor(tensorProto("a", 7, {2}).sint(7, 9).sint(7, -9)).bytes,
            bytesOf(std::vector<int64_t>{9, -9}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 11, {2}).packedDoubles(10, {0.1, -2.0}))
          .bytes,
      bytesOf(std::vector<double>{0.1, -2.0}));
  EXPECT_EQ(parseTensor(tensorProto("a", 11, {1}).f64(10, 3.25)).bytes,
            bytesOf(std::vector<double>{3.25}));
  EXPECT_EQ(parseTensor(tensorProto("a", 15, {1}).packedDoubles(10, {1.0, 2.0}))
                .bytes,
            bytesOf(std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(
      parseTensor(tensorProto("a", 13, {2}).packedVarints(11, {-1, 5})).bytes,
      bytesOf(std::vector<uint64_t>{~0ULL, 5}));
  EXPECT_EQ(
      parseTensor(
          tensorProto("a", 12, {2}).varint(11, 0xffffffffULL).varint(11, 1))
          .bytes,
      bytesOf(std::vector<uint32_t>{0xffffffffu, 1}));
}

TEST(OnnxModel, TensorStringData) {
  Tensor t =
      parseTensor(tensorProto("s", 8, {2}).bytes(6, "hello").bytes(6, ""));
  EXPECT_EQ(t.strings, (std::vector<std::string>{"hello", ""}));
  EXPECT_TRUE(t.bytes.empty());
  EXPECT_NE(tensorError(tensorProto("s", 8, {3}).bytes(6, "x"))
                .find("tensor 's' has 1 strings, expected 3"),
            std::string::npos);
  EXPECT_NE(tensorError(tensorProto("s", 8, {1}).bytes(9, "x"))
                .find("of type STRING cannot hold data in raw_data"),
            std::string::npos);
}

TEST(OnnxModel, TensorPayloadErrors) {
  std::string e =
      tensorError(tensorProto("w", 1, {2, 3}).packedFloats(4, {1, 2, 3}));
  EXPECT_NE(e.find("tensor 'w' has 12 bytes of data, expected 24 (6 x FLOAT)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("in ModelProto.graph.initializer[0]"), std::string::npos)
      << e;
  EXPECT_NE(
      tensorError(tensorProto("w", 7, {1}).packedFloats(4, {1}))
          .find("tensor 'w' of type INT64 cannot hold data in float_data"),
      std::string::npos);
  EXPECT_NE(tensorError(tensorProto("w", 1, {1})
                            .packedFloats(4, {1})
                            .bytes(9, std::string(4, '\0')))
                .find("has data in both raw_data and float_data"),
            std::string::npos);
  EXPECT_NE(tensorError(tensorProto("w", 1, {-1})).find("negative dimension"),
            std::string::npos);
  EXPECT_NE(
      tensorError(tensorProto("w", 99, {1})).find("unsupported data type 99"),
      std::string::npos);
  EXPECT_NE(
      tensorError(tensorProto("w", 0, {1})).find("unsupported data type 0"),
      std::string::npos);
  EXPECT_NE(tensorError(tensorProto("w", 1, {1LL << 40, 1LL << 40}))
                .find("too many elements"),
            std::string::npos);
  // A zero dim does not excuse the others from fitting in int64.
  EXPECT_NE(tensorError(tensorProto("w", 1, {0, 1LL << 40, 1LL << 40}))
                .find("too many elements"),
            std::string::npos);
  EXPECT_NE(tensorError(tensorProto("w", 1, {3}))
                .find("0 bytes of data, expected 12"),
            std::string::npos);
  EXPECT_NE(tensorError(tensorProto("", 1, {1})).find("unnamed tensor"),
            std::string::npos);
  EXPECT_NE(tensorError(tensorProto("a\nb", 1, {1})).find("tensor 'a?b'"),
            std::string::npos);
  // A packed float field whose length is no multiple of 4 is protobuf's
  // to refuse.
  EXPECT_NE(tensorError(tensorProto("w", 1, {1}).bytes(4, "abc"))
                .find("not a valid ONNX ModelProto"),
            std::string::npos);
  // An unknown data_location is an unknown field to protobuf (proto2
  // enums): the tensor then has no data, which is an error.
  EXPECT_NE(tensorError(tensorProto("w", 1, {1}).sint(14, 2))
                .find("0 bytes of data, expected 4"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// External data
//===----------------------------------------------------------------------===//

static Proto externalTensor(const std::string &location, const char *offset,
                            const char *length) {
  Proto t = tensorProto("w", 1, {3});
  t.msg(13, Proto().bytes(1, "location").bytes(2, location));
  if (offset)
    t.msg(13, Proto().bytes(1, "offset").bytes(2, offset));
  if (length)
    t.msg(13, Proto().bytes(1, "length").bytes(2, length));
  t.sint(14, 1);
  return t;
}

using OnnxExternalData = TempDir;

TEST_F(OnnxExternalData, ReadsOffsetAndLength) {
  std::vector<float> values = {1.f, 2.f, 3.f};
  writeFile("weights.bin", "pad!" + bytesOf(values) + "tail");
  Tensor t =
      parseTensor(externalTensor("weights.bin", "4", "12"), dir.string());
  EXPECT_EQ(t.bytes, bytesOf(values));
  // Without a length the data runs to the end of the file.
  writeFile("exact.bin", "pad!" + bytesOf(values));
  EXPECT_EQ(parseTensor(externalTensor("exact.bin", "4", nullptr), dir.string())
                .bytes,
            bytesOf(values));
  fs::create_directory(dir / "sub");
  writeFile("sub/w.bin", bytesOf(values));
  EXPECT_EQ(
      parseTensor(externalTensor("sub/w.bin", nullptr, nullptr), dir.string())
          .bytes,
      bytesOf(values));
}

TEST_F(OnnxExternalData, LoadModelFileResolvesNextToTheModel) {
  std::vector<float> values = {4.f, 5.f, 6.f};
  writeFile("model.onnx_data", bytesOf(values));
  writeFile(
      "model.onnx",
      modelWith(graphWithTensor(externalTensor("model.onnx_data", "0", "12")))
          .str());
  Model m;
  std::string error;
  ASSERT_TRUE(loadModelFile((dir / "model.onnx").string(), m, error)) << error;
  EXPECT_EQ(m.graph.initializers.at(0).bytes, bytesOf(values));
}

TEST_F(OnnxExternalData, RejectsEscapesAndBadRanges) {
  std::vector<float> values = {1.f, 2.f, 3.f};
  writeFile("w.bin", bytesOf(values));
  std::string base = dir.string();
  EXPECT_NE(tensorError(externalTensor("../w.bin", nullptr, nullptr), base)
                .find("leaves the model directory"),
            std::string::npos);
  EXPECT_NE(
      tensorError(externalTensor("sub/../../w.bin", nullptr, nullptr), base)
          .find("leaves the model directory"),
      std::string::npos);
  EXPECT_NE(
      tensorError(externalTensor((dir / "w.bin").string(), nullptr, nullptr),
                  base)
          .find("is an absolute path"),
      std::string::npos);
  EXPECT_NE(
      tensorError(externalTensor("w.bin", nullptr, nullptr), "")
          .find("not allowed for a model that was not loaded from a file"),
      std::string::npos);
  EXPECT_NE(tensorError(externalTensor("missing.bin", nullptr, nullptr), base)
                .find("is not a readable file"),
            std::string::npos);
  EXPECT_NE(tensorError(externalTensor("w.bin", "8", "12"), base)
                .find("runs past the end"),
            std::string::npos);
  EXPECT_NE(tensorError(externalTensor("w.bin", "99", nullptr), base)
                .find("runs past the end"),
            std::string::npos);
  EXPECT_NE(tensorError(externalTensor("w.bin", "0", "8"), base)
                .find("tensor 'w' has 8 bytes of external data, expected 12"),
            std::string::npos);
  EXPECT_NE(tensorError(externalTensor("w.bin", "0x10", nullptr), base)
                .find("is not a decimal integer"),
            std::string::npos);
  EXPECT_NE(tensorError(externalTensor("", nullptr, nullptr), base)
                .find("without a location"),
            std::string::npos);
  EXPECT_NE(
      tensorError(
          externalTensor("w.bin", nullptr, nullptr).packedFloats(4, {1, 2, 3}),
          base)
          .find("has data in both external_data and float_data"),
      std::string::npos);
}

TEST_F(OnnxExternalData, LoadModelFileReportsMissingFile) {
  Model m;
  std::string error;
  std::string path = (dir / "nope.onnx").string();
  EXPECT_FALSE(loadModelFile(path, m, error));
  EXPECT_NE(error.find("cannot read '" + path + "'"), std::string::npos)
      << error;
  EXPECT_FALSE(loadModelFile(dir.string(), m, error));
  EXPECT_NE(error.find(dir.string()), std::string::npos) << error;
  writeFile("bad.onnx", "\x0a\x05"
                        "ab");
  EXPECT_FALSE(loadModelFile((dir / "bad.onnx").string(), m, error));
  EXPECT_EQ(error.rfind((dir / "bad.onnx").string() + ": ", 0), 0u) << error;
}

//===----------------------------------------------------------------------===//
// Wire-format errors
//===----------------------------------------------------------------------===//

TEST(OnnxModel, RejectsMalformedWireData) {
  auto errorOf = [](const std::string &bytes) {
    Model m;
    std::string error;
    EXPECT_FALSE(parseModel(reinterpret_cast<const uint8_t *>(bytes.data()),
                            bytes.size(), "", m, error));
    return error;
  };
  const std::string kInvalid = "not a valid ONNX ModelProto (protobuf cannot "
                               "parse it: truncated or damaged?)";
  EXPECT_EQ(errorOf(""), "missing graph in ModelProto");
  for (const std::string &bytes : {
           std::string("\x08"),                               // varint cut
           std::string("\x08\x80\x80"),                       // varint cut
           "\x08" + std::string(10, '\xff') + "\x01",          // too long
           std::string("\x0e"),                               // wire type 6
           std::string("\x00\x01", 2),                        // field 0
           std::string("\x3a\x05"
                       "ab"),                                 // length cut
           std::string("\x39\x01\x02"),                       // fixed64 cut
           std::string("\x3d\x01"),                           // fixed32 cut
           std::string("\x3a\x02\x12\x05"
                       "abcdefgh"), // a nested length past its parent
       })
    EXPECT_EQ(errorOf(bytes), kInvalid) << bytes.size();
  // A known field with another wire type is an unknown field to protobuf:
  // skipped, so the model is then missing its graph.
  EXPECT_EQ(errorOf("\x10\x01"), "missing graph in ModelProto");
}

TEST(OnnxModel, RejectsDeepNesting) {
  auto nested = [](int levels) {
    Proto g;
    g.bytes(2, "leaf");
    for (int i = 0; i < levels; ++i) {
      Proto attr;
      attr.bytes(1, "body").msg(6, g).sint(20, Attribute::GraphKind);
      Proto outer;
      outer.msg(1, Proto().bytes(4, "Loop").msg(5, attr));
      g = outer;
    }
    return modelWith(g);
  };
  // Each level is three messages: graph, node, attribute.
  Model m = parseOk(nested(20));
  EXPECT_EQ(m.graph.nodes.at(0).attributes.at(0).g->nodes.size(), 1u);
  // protobuf's recursion limit (100 messages) bounds the parse.
  EXPECT_NE(parseError(nested(40)).find("not a valid ONNX ModelProto"),
            std::string::npos);
}

TEST(OnnxModel, SparseInitializers) {
  Proto sparse;
  sparse.msg(1, tensorProto("sp", 1, {1}).packedFloats(4, {1.f}))
      .msg(2, tensorProto("", 7, {1}).packedVarints(7, {0}))
      .packedVarints(3, {4});
  Proto unused;
  unused.msg(15, sparse).msg(1, Proto().bytes(1, "x").bytes(4, "Relu"));
  EXPECT_TRUE(parseOk(modelWith(unused)).graph.initializers.empty());

  Proto used;
  used.msg(15, sparse).msg(1, Proto().bytes(1, "sp").bytes(4, "Relu"));
  EXPECT_NE(parseError(modelWith(used))
                .find("sparse initializer 'sp' is not supported in "
                      "ModelProto.graph"),
            std::string::npos);

  // A use inside a subgraph counts too.
  Proto body;
  body.msg(1, Proto().bytes(1, "sp").bytes(4, "Neg"));
  Proto deep;
  deep.msg(15, sparse)
      .msg(1, Proto().bytes(4, "If").msg(
                  5, Proto().bytes(1, "then_branch").msg(6, body)));
  EXPECT_NE(parseError(modelWith(deep)).find("sparse initializer 'sp'"),
            std::string::npos);
}

TEST(OnnxModel, RejectsNegativeDimValue) {
  Proto g;
  g.msg(11, valueInfo("x", 1, {"2"}));
  Proto shape;
  shape.msg(1, Proto().sint(1, -4));
  Proto type;
  type.msg(1, Proto().sint(1, 1).msg(2, shape));
  Proto bad;
  bad.msg(11, Proto().bytes(1, "x").msg(2, type));
  parseOk(modelWith(g));
  EXPECT_NE(
      parseError(modelWith(bad))
          .find("negative dim_value -4 in "
                "ModelProto.graph.input[0].type.tensor_type.shape.dim[0]"),
      std::string::npos);
}

TEST(OnnxModel, EveryTruncationIsAnError) {
  Proto m = richModel();
  parseOk(m);
  const std::string &bytes = m.str();
  for (size_t len = 0; len < bytes.size(); ++len) {
    Model model;
    std::string error;
    EXPECT_FALSE(parseModel(reinterpret_cast<const uint8_t *>(bytes.data()),
                            len, "", model, error))
        << "prefix of " << len << " bytes decoded";
    EXPECT_FALSE(error.empty());
  }
}

TEST(OnnxModel, SurvivesRandomCorruption) {
  const std::string original = richModel().str();
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes = original;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % bytes.size();
      switch (rng() % 3) {
      case 0:
        bytes[pos] = static_cast<char>(rng());
        break;
      case 1:
        bytes.erase(pos, 1);
        break;
      default:
        bytes.insert(pos, 1, static_cast<char>(rng()));
        break;
      }
    }
    // Heap copies so that out-of-bounds reads hit the sanitizer's redzones.
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());
    Model model;
    std::string error;
    bool ok = parseModel(copy.data(), copy.size(), "", model, error);
    EXPECT_TRUE(ok || !error.empty());
  }
}

TEST(OnnxModel, ElemTypeTables) {
  EXPECT_STREQ(elemTypeName(1), "FLOAT");
  EXPECT_STREQ(elemTypeName(16), "BFLOAT16");
  EXPECT_STREQ(elemTypeName(28), "FLOAT6E3M2");
  EXPECT_STREQ(elemTypeName(-1), "UNKNOWN");
  EXPECT_STREQ(elemTypeName(29), "UNKNOWN");
  EXPECT_EQ(elemTypeSize(1), 4u);
  EXPECT_EQ(elemTypeSize(9), 1u);
  EXPECT_EQ(elemTypeSize(15), 16u);
  EXPECT_EQ(elemTypeSize(8), 0u);
  EXPECT_EQ(elemTypeSize(0), 0u);
  EXPECT_EQ(elemTypeSize(100), 0u);
  EXPECT_EQ(elemTypeBits(27), 6u);
}

TEST(OnnxModel, NodeAttrLookup) {
  Model m = parseOk(richModel());
  const Node &n = m.graph.nodes.at(0);
  ASSERT_NE(n.attr("axis"), nullptr);
  EXPECT_EQ(n.attr("axis")->i, -1);
  EXPECT_EQ(n.attr("nope"), nullptr);
}
