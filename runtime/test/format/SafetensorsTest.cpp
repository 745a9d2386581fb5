//===- SafetensorsTest.cpp - Tests of the safetensors reader and writer ---===//
//
// Round trips of every dtype through writeSafetensors and SafetensorsFile,
// the Hugging Face layout of written files, and rejection of corrupt files
// (truncated or oversized headers, bad JSON, bad entries, overlapping data)
// with messages naming the file and tensor.
//
//===----------------------------------------------------------------------===//

#include "accel/runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace accel::rt;

namespace {

class SafetensorsTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/safetensorstest.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    for (const std::string &name : listDir())
      ::unlink((dir + "/" + name).c_str());
    ::rmdir(dir.c_str());
  }

  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    if (DIR *d = ::opendir(dir.c_str())) {
      while (dirent *e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
          names.push_back(e->d_name);
      ::closedir(d);
    }
    return names;
  }

  std::string path(const std::string &name) const { return dir + "/" + name; }

  static std::string readAll(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  /// Writes a file with the given header text and data section.
  std::string writeRaw(const std::string &header, const std::string &data,
                       const std::string &name = "raw.safetensors") {
    std::string bytes;
    for (int i = 0; i < 8; ++i)
      bytes += static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
    bytes += header + data;
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  /// The FormatError message for opening a file with this header and data.
  std::string openError(const std::string &header, const std::string &data) {
    std::string file = writeRaw(header, data);
    try {
      SafetensorsFile f(file);
    } catch (const FormatError &e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind(file + ": ", 0), 0u) << msg;
      return msg;
    }
    ADD_FAILURE() << "opened: " << header;
    return "";
  }

  std::string dir;
};

/// Distinct bytes for each tensor, valid for every dtype (bool needs 0/1).
std::vector<uint8_t> pattern(size_t n, uint8_t seed, bool boolean) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = boolean ? (i + seed) % 2 : static_cast<uint8_t>(seed * 31 + i * 7);
  return v;
}

const DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16,
                            DType::I64, DType::I32, DType::I16, DType::I8,
                            DType::U8,  DType::Bool};

#define EXPECT_ERROR_HAS(expr, text)                                           \
  EXPECT_NE(std::string(expr).find(text), std::string::npos) << (expr)

} // namespace

TEST_F(SafetensorsTest, RoundTripsEveryDType) {
  std::vector<std::vector<uint8_t>> storage;
  std::vector<NamedTensor> tensors;
  uint8_t seed = 1;
  for (DType t : kAllDTypes) {
    Shape shape = {2, 3};
    storage.push_back(pattern(6 * dtypeSize(t), seed++, t == DType::Bool));
    tensors.push_back({std::string("t_") + dtypeName(t),
                       TensorView{storage.back().data(), t, shape}});
  }
  std::vector<uint8_t> scalarData = pattern(4, 9, false);
  tensors.push_back({"scalar", TensorView{scalarData.data(), DType::F32, {}}});
  tensors.push_back({"empty", TensorView{nullptr, DType::F64, {0, 4}}});
  std::map<std::string, std::string> meta = {{"format", "pt"},
                                             {"note", "q\"\\\n\x01"}};
  writeSafetensors(path("m.safetensors"), tensors, meta);

  SafetensorsFile f(path("m.safetensors"));
  EXPECT_EQ(f.path(), path("m.safetensors"));
  EXPECT_EQ(f.metadata(), meta);
  ASSERT_EQ(f.names().size(), tensors.size());
  for (const NamedTensor &t : tensors) {
    ASSERT_TRUE(f.contains(t.name)) << t.name;
    TensorView v = f.tensor(t.name);
    EXPECT_EQ(v.dtype, t.view.dtype) << t.name;
    EXPECT_EQ(v.shape, t.view.shape) << t.name;
    ASSERT_EQ(v.bytes(), t.view.bytes()) << t.name;
    if (v.bytes()) {
      EXPECT_EQ(std::memcmp(v.data, t.view.data, v.bytes()), 0) << t.name;
    }
    // The writer's layout aligns every tensor to its element size.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % dtypeSize(v.dtype), 0u)
        << t.name;
  }
  // Decreasing dtype size (in the Hugging Face order), then name.
  EXPECT_EQ(f.names(),
            (std::vector<std::string>{"t_i64", "empty", "t_f64", "scalar",
                                      "t_f32", "t_i32", "t_bf16", "t_f16",
                                      "t_i16", "t_i8", "t_u8", "t_bool"}));
  EXPECT_FALSE(f.contains("nope"));
}

TEST_F(SafetensorsTest, WritesTheHuggingFaceLayout) {
  // What safetensors.torch.save_file writes for ten zero tensors of shape
  // (3,), named a..j in our dtype order, with metadata {x: y, a: b}.
  const char *expected =
      "{\"__metadata__\":{\"a\":\"b\",\"x\":\"y\"},"
      "\"e\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
      "\"b\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[24,48]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]},"
      "\"f\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[60,72]},"
      "\"d\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[72,78]},"
      "\"c\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[78,84]},"
      "\"g\":{\"dtype\":\"I16\",\"shape\":[3],\"data_offsets\":[84,90]},"
      "\"h\":{\"dtype\":\"I8\",\"shape\":[3],\"data_offsets\":[90,93]},"
      "\"i\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[93,96]},"
      "\"j\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[96,99]}}"
      " ";
  std::vector<uint8_t> zeros(24);
  std::vector<NamedTensor> tensors;
  char name = 'a';
  for (DType t : kAllDTypes)
    tensors.push_back(
        {std::string(1, name++), TensorView{zeros.data(), t, {3}}});
  writeSafetensors(path("hf.safetensors"), tensors, {{"x", "y"}, {"a", "b"}});
  std::string bytes = readAll(path("hf.safetensors"));
  ASSERT_EQ(bytes.size(), 8 + std::strlen(expected) + 99);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x48\x02\0\0\0\0\0\0", 8));
  EXPECT_EQ(bytes.substr(8, std::strlen(expected)), expected);
}

TEST_F(SafetensorsTest, EmptyFileAndNoMetadata) {
  writeSafetensors(path("e.safetensors"), {});
  EXPECT_EQ(readAll(path("e.safetensors")),
            std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  SafetensorsFile f(path("e.safetensors"));
  EXPECT_TRUE(f.names().empty());
  EXPECT_TRUE(f.metadata().empty());
}

TEST_F(SafetensorsTest, AtomicWriteLeavesNoTemporaryFile) {
  float v[2] = {1.f, 2.f};
  std::vector<NamedTensor> tensors = {{"w", TensorView{v, DType::F32, {2}}}};
  writeSafetensors(path("a.safetensors"), tensors);
  // Overwriting replaces the file in one step.
  v[0] = 5.f;
  writeSafetensors(path("a.safetensors"), tensors);
  EXPECT_EQ(listDir(), std::vector<std::string>{"a.safetensors"});
  SafetensorsFile f(path("a.safetensors"));
  EXPECT_EQ(f.tensor("w").as<float>()[0], 5.f);

  // A failed rename (the target is a directory) removes the temporary file.
  ASSERT_EQ(::mkdir(path("d").c_str(), 0755), 0);
  EXPECT_THROW(writeSafetensors(path("d"), tensors), FormatError);
  ::rmdir(path("d").c_str());
  EXPECT_EQ(listDir(), std::vector<std::string>{"a.safetensors"});
  EXPECT_THROW(writeSafetensors(path("no/such/dir.safetensors"), tensors),
               FormatError);
}

TEST_F(SafetensorsTest, WriterRejectsBadInput) {
  float v[2] = {1.f, 2.f};
  auto error = [&](const std::vector<NamedTensor> &tensors) {
    try {
      writeSafetensors(path("bad.safetensors"), tensors);
    } catch (const FormatError &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_ERROR_HAS(
      error({{"w", {v, DType::F32, {2}}}, {"w", {v, DType::F32, {1}}}}),
      "tensor 'w': duplicate name");
  EXPECT_ERROR_HAS(error({{"__metadata__", {v, DType::F32, {2}}}}), "reserved");
  EXPECT_ERROR_HAS(error({{"n", {v, DType::F32, {-2}}}}), "negative dimension");
  EXPECT_ERROR_HAS(error({{"z", {nullptr, DType::F32, {2}}}}),
                   "tensor 'z': no data");
  EXPECT_ERROR_HAS(error({{"q", {v, static_cast<DType>(77), {1}}}}),
                   "invalid dtype");
  EXPECT_TRUE(listDir().empty());
}

TEST_F(SafetensorsTest, ParsesJsonEscapesAndWhitespace) {
  std::string header =
      " {\n\t\"__metadata__\" : "
      "{\"k\\u00e9\":\"\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"},"
      " \"a\\\"b\" : { \"shape\" : [ ] , \"data_offsets\" : [0, 4], "
      "\"dtype\" : \"F32\", \"extra\": [\"ignored\"] } }\r\n";
  SafetensorsFile f(writeRaw(header, std::string(4, '\0')));
  EXPECT_EQ(f.names(), std::vector<std::string>{"a\"b"});
  EXPECT_EQ(f.metadata().at("k\xc3\xa9"), "\xf0\x9f\x98\x80/\b\f\n\r\t");
  EXPECT_TRUE(f.tensor("a\"b").shape.empty());
}

TEST_F(SafetensorsTest, KeepsHeaderOrderAndAllowsGaps) {
  std::string header =
      "{\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":["
      "6,8]},\"a\":{\"dtype\":\"I16\",\"shape\":[1],"
      "\"data_offsets\":[0,2]}}";
  SafetensorsFile f(writeRaw(header, "\x01\x02..\x05\x06\x07\x08"));
  EXPECT_EQ(f.names(), (std::vector<std::string>{"z", "a"}));
  EXPECT_EQ(f.tensor("z").as<uint8_t>()[1], 8);
  EXPECT_EQ(f.tensor("a").as<int16_t>()[0], 0x0201);
}

TEST_F(SafetensorsTest, RejectsTruncatedAndOversizedHeaders) {
  std::ofstream(path("short"), std::ios::binary) << std::string("\x02\0\0", 3);
  try {
    SafetensorsFile f(path("short"));
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_ERROR_HAS(e.what(),
                     path("short") + ": file of 3 bytes is too small");
  }
  std::string file = writeRaw("{}", "");
  // Claim a longer header than the file holds.
  {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.put('\x40');
  }
  EXPECT_THROW(SafetensorsFile{file}, FormatError);
  try {
    SafetensorsFile f(file);
  } catch (const FormatError &e) {
    EXPECT_ERROR_HAS(e.what(),
                     "header length 64 runs past the end of the 10-byte file");
  }
  std::string huge = std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) + "{}";
  std::ofstream(path("huge"), std::ios::binary) << huge;
  try {
    SafetensorsFile f(path("huge"));
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_ERROR_HAS(e.what(), "exceeds the limit");
  }
  try {
    SafetensorsFile f(path("missing"));
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_ERROR_HAS(e.what(), path("missing") + ": cannot open");
  }
  try {
    SafetensorsFile f(dir);
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_ERROR_HAS(e.what(), "not a readable regular file");
  }
  // Every truncation of a valid file fails cleanly.
  float v[3] = {1, 2, 3};
  writeSafetensors(path("full"), {{"w", TensorView{v, DType::F32, {3}}}});
  std::string bytes = readAll(path("full"));
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::ofstream(path("cut"), std::ios::binary) << bytes.substr(0, len);
    EXPECT_THROW(SafetensorsFile{path("cut")}, FormatError) << len;
  }
}

TEST_F(SafetensorsTest, RejectsBadJson) {
  // Malformed JSON is nlohmann-json's to report (with the place); what JSON
  // allows but the format does not is ours.
  const char *kInvalid = "header is not valid JSON";
  const std::pair<const char *, const char *> cases[] = {
      {"", kInvalid},
      {"{", kInvalid},
      {"{\"a\":}", kInvalid},
      {"{} x", kInvalid},
      {"{\"a\" 1}", kInvalid},
      {"{\"a\":1,}", kInvalid},
      {"{\"a\":[1 2]}", kInvalid},
      {"{\"a\":\"x}", kInvalid},
      {"{\"a\":\"\\q\"}", kInvalid},
      {"{\"a\":\"\\u12g4\"}", kInvalid},
      {"{\"a\":\"\\udc00\"}", kInvalid},
      {"{\"a\":\"\\ud800x\"}", kInvalid},
      {"{\"a\":\"\x01\"}", kInvalid},
      {"{\"a\":\"\xc3\x28\"}", kInvalid},
      {"{\"a\":\"\xed\xa0\x80\"}", kInvalid},
      {"{\"a\":01}", kInvalid},
      {"{\"a\":-}", kInvalid},
      {"{\"a\":1.5}", "tensor 'a': entry is not an object"},
      {"{\"a\":99999999999999999999}", "tensor 'a': entry is not an object"},
      {"{\"a\":true}", "tensor 'a': entry is not an object"},
      {"{\"a\":1,\"a\":2}", "tensor 'a' is listed twice"},
      {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I8\"}}",
       "key 'dtype' is listed twice"},
      {"{\"a\":{\"shape\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}}",
       "nests deeper than a safetensors header does"},
      {"[]", "header is not a JSON object"},
  };
  for (const auto &[header, message] : cases)
    EXPECT_ERROR_HAS(openError(header, ""), message);
  // The place in the header is named.
  EXPECT_ERROR_HAS(openError("{\"a\":01}", ""), "line 1, column 7");
}

TEST_F(SafetensorsTest, RejectsBadEntries) {
  auto entry = [](const std::string &body) { return "{\"w\":{" + body + "}}"; };
  const std::string data(16, '\0');
  const std::pair<std::string, const char *> cases[] = {
      {"{\"w\":1}", "tensor 'w': entry is not an object"},
      {entry("\"shape\":[2],\"data_offsets\":[0,8]"),
       "missing or non-string \"dtype\""},
      {entry("\"dtype\":\"F32\",\"data_offsets\":[0,8]"),
       "non-array \"shape\""},
      {entry("\"dtype\":\"F32\",\"shape\":[2]"),
       "\"data_offsets\" is not an array of two"},
      {entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]"),
       "not an array of two"},
      {entry("\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[0,4]"),
       "unsupported dtype 'U16'"},
      {entry("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"),
       "negative entry"},
      {entry("\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]"),
       "non-integer"},
      {entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,8]"),
       "non-negative"},
      {entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]"),
       "not within the data section of 16 bytes"},
      {entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]"),
       "not within the data section"},
      {entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"),
       "hold 8 bytes, but F32 3 needs 12"},
      {entry("\"dtype\":\"F64\",\"shape\":[4611686018427387904,4],\"data_"
             "offsets\":[0,8]"),
       "too many elements"},
      {entry("\"dtype\":\"F32\",\"shape\":[0,4611686018427387904,4],"
             "\"data_offsets\":[0,0]"),
       "too many elements"},
      {"{\"__metadata__\":[]}", "__metadata__ is not an object"},
      {"{\"__metadata__\":{\"k\":1}}",
       "__metadata__ value of \"k\" is not a string"},
  };
  for (const auto &[header, message] : cases)
    EXPECT_ERROR_HAS(openError(header, data), message);
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  std::string header =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[6,10]},"
      "\"c\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}";
  EXPECT_ERROR_HAS(openError(header, std::string(10, '\0')),
                   "tensor 'b' overlaps tensor 'a'");
  // Empty tensors occupy no bytes and never overlap.
  std::string ok =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"c\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}";
  SafetensorsFile f(writeRaw(ok, std::string(8, '\0')));
  EXPECT_EQ(f.tensor("c").numel(), 0);
}

TEST_F(SafetensorsTest, LookupOfMissingTensorNamesFileAndTensor) {
  writeSafetensors(path("l.safetensors"), {});
  SafetensorsFile f(path("l.safetensors"));
  try {
    f.tensor("missing");
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_EQ(std::string(e.what()),
              path("l.safetensors") + ": no tensor named 'missing'");
  }
}
