//===- NpyTest.cpp - Tests of the .npy reader and writer ------------------===//
//
// Round trips of every dtype .npy can hold, the layout of written files, the
// header variants NumPy has produced over time (format 1.0/2.0/3.0, Python 2
// longs, 16-byte padding), and rejection of corrupt or unsupported files with
// messages naming the file.
//
//===----------------------------------------------------------------------===//

#include "accel/runtime/Npy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace accel::rt;

namespace {

class NpyTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/npytest.XXXXXX";
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

  /// Writes a .npy file by hand: format `major`.0, the dict text padded with
  /// spaces and a newline to a multiple of `align`, then `data`.
  std::string writeNpyFile(const std::string &dict, const std::string &data,
                           int major = 1, size_t align = 64) {
    size_t lengthSize = major == 1 ? 2 : 4;
    size_t prefix = 8 + lengthSize;
    std::string header = dict;
    header.append((align - (prefix + header.size() + 1) % align) % align, ' ');
    header += '\n';
    std::string bytes = std::string("\x93NUMPY", 6);
    bytes += static_cast<char>(major);
    bytes += '\0';
    for (size_t i = 0; i < lengthSize; ++i)
      bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    bytes += header + data;
    return writeBytes(bytes);
  }

  std::string writeBytes(const std::string &bytes) {
    std::ofstream(path("in.npy"), std::ios::binary) << bytes;
    return path("in.npy");
  }

  /// The FormatError message for reading `file`; it must name the file.
  static std::string readError(const std::string &file) {
    try {
      readNpy(file);
    } catch (const FormatError &e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind(file + ": ", 0), 0u) << msg;
      return msg;
    }
    ADD_FAILURE() << "read " << file;
    return "";
  }

  std::string dir;
};

#define EXPECT_ERROR_HAS(expr, text)                                           \
  EXPECT_NE(std::string(expr).find(text), std::string::npos) << (expr)

const std::string kF32Dict =
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

std::string f32Bytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4);
}

} // namespace

TEST_F(NpyTest, RoundTripsEveryDType) {
  const DType types[] = {DType::F32, DType::F64, DType::F16,
                         DType::I64, DType::I32, DType::I16,
                         DType::I8,  DType::U8,  DType::Bool};
  const Shape shapes[] = {{2, 3}, {}, {5}, {0, 3}, {1, 2, 1, 2}};
  for (DType t : types) {
    for (const Shape &shape : shapes) {
      TensorView v{nullptr, t, shape};
      std::vector<uint8_t> data(v.bytes());
      for (size_t i = 0; i < data.size(); ++i)
        data[i] = t == DType::Bool ? i % 2 : static_cast<uint8_t>(i * 37 + 1);
      v.data = data.data();
      writeNpy(path("rt.npy"), v);
      NpyArray a = readNpy(path("rt.npy"));
      EXPECT_EQ(a.dtype, t);
      EXPECT_EQ(a.shape, shape);
      EXPECT_EQ(a.data, data) << dtypeName(t) << " " << shapeToString(shape);
      TensorView back = a.view();
      EXPECT_EQ(back.data, a.data.data());
      EXPECT_EQ(back.bytes(), data.size());
    }
  }
}

TEST_F(NpyTest, WritesNumPyLayout) {
  float v[6] = {0, 1, 2, 3, 4, 5};
  writeNpy(path("a.npy"), TensorView{v, DType::F32, {2, 3}});
  std::string bytes = readAll(path("a.npy"));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  size_t headerSize =
      static_cast<uint8_t>(bytes[8]) |
      (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  EXPECT_EQ((10 + headerSize) % 64, 0u);
  ASSERT_EQ(bytes.size(), 10 + headerSize + sizeof(v));
  std::string header = bytes.substr(10, headerSize);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': "
                         "(2, 3), }",
                         0),
            0u)
      << header;
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(std::memcmp(bytes.data() + 10 + headerSize, v, sizeof(v)), 0);

  writeNpy(path("s.npy"), TensorView{v, DType::Bool, {}});
  EXPECT_NE(readAll(path("s.npy"))
                .find("'descr': '|b1', 'fortran_order': "
                      "False, 'shape': (), }"),
            std::string::npos);
  writeNpy(path("o.npy"), TensorView{v, DType::I8, {3}});
  EXPECT_NE(readAll(path("o.npy")).find("'shape': (3,), }"), std::string::npos);
}

TEST_F(NpyTest, RejectsBF16AndBadTensors) {
  uint16_t v[2] = {0x3f80, 0x4000};
  try {
    writeNpy(path("b.npy"), TensorView{v, DType::BF16, {2}});
    ADD_FAILURE();
  } catch (const FormatError &e) {
    EXPECT_EQ(std::string(e.what()),
              path("b.npy") +
                  ": .npy has no bf16 dtype; cast the tensor first");
  }
  EXPECT_THROW(writeNpy(path("n.npy"), TensorView{v, DType::I16, {-1}}),
               FormatError);
  EXPECT_THROW(writeNpy(path("z.npy"), TensorView{nullptr, DType::I16, {2}}),
               FormatError);
  EXPECT_TRUE(listDir().empty());
}

TEST_F(NpyTest, AtomicWriteLeavesNoTemporaryFile) {
  float v[2] = {1, 2};
  writeNpy(path("a.npy"), TensorView{v, DType::F32, {2}});
  v[1] = 7;
  writeNpy(path("a.npy"), TensorView{v, DType::F32, {2}});
  EXPECT_EQ(listDir(), std::vector<std::string>{"a.npy"});
  EXPECT_EQ(readNpy(path("a.npy")).data[4 + 3], 0x40); // 7.0f = 0x40e00000
  EXPECT_THROW(writeNpy(path("missing/a.npy"), TensorView{v, DType::F32, {2}}),
               FormatError);
  EXPECT_EQ(listDir(), std::vector<std::string>{"a.npy"});
}

TEST_F(NpyTest, ReadsHeaderVariants) {
  std::string data = f32Bytes({1.5f, -2.f});
  auto check = [&](const std::string &file) {
    NpyArray a = readNpy(file);
    EXPECT_EQ(a.dtype, DType::F32);
    EXPECT_EQ(a.shape, Shape{2});
    EXPECT_EQ(std::string(a.data.begin(), a.data.end()), data);
  };
  check(writeNpyFile(kF32Dict, data, 1));
  check(writeNpyFile(kF32Dict, data, 2));
  check(writeNpyFile(kF32Dict, data, 3));
  // Older NumPy padded to 16 bytes; Python 2 wrote longs; keys in any order,
  // either quote style, no trailing comma.
  check(writeNpyFile(kF32Dict, data, 1, 16));
  check(writeNpyFile(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }", data));
  check(writeNpyFile(
      "{\"shape\": (2,), \"descr\": \"<f4\", \"fortran_order\": False}", data));
  check(
      writeNpyFile("{'fortran_order':False,'shape':(2,),'descr':'<f4'}", data));

  NpyArray big = readNpy(writeNpyFile(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 1), }",
      std::string("\x01\0\0\0\0\0\0\x80", 8)));
  EXPECT_EQ(big.shape, (Shape{1, 1, 1}));
  int64_t value;
  std::memcpy(&value, big.data.data(), 8);
  EXPECT_EQ(value, INT64_MIN + 1);

  // Empty arrays have no data bytes.
  NpyArray c = readNpy(writeNpyFile(
      "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 7), }", ""));
  EXPECT_TRUE(c.data.empty());
}

TEST_F(NpyTest, RejectsUnsupportedArrays) {
  std::string data = f32Bytes({1.f, 2.f});
  EXPECT_ERROR_HAS(
      readError(writeNpyFile(
          "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data)),
      "Fortran-order arrays are not supported");
  EXPECT_ERROR_HAS(
      readError(writeNpyFile(
          "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data)),
      "unsupported dtype '>f4' (big-endian data is not supported)");
  EXPECT_ERROR_HAS(
      readError(writeNpyFile(
          "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", data)),
      "unsupported dtype '<U2'");
  EXPECT_ERROR_HAS(
      readError(writeNpyFile(
          "{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }", data)),
      "unsupported dtype '<u4'");
  EXPECT_ERROR_HAS(
      readError(writeNpyFile("{'descr': [('a', '<f4')], 'fortran_order': "
                             "False, 'shape': (2,), }",
                             data)),
      "structured dtypes are not supported");
}

TEST_F(NpyTest, RejectsCorruptFiles) {
  std::string data = f32Bytes({1.f, 2.f});
  std::string good = readAll(writeNpyFile(kF32Dict, data));
  EXPECT_ERROR_HAS(readError(writeBytes("\x93NUMPX" + good.substr(6))),
                   "not a .npy file (bad magic)");
  std::string v4 = good;
  v4[6] = 4;
  EXPECT_ERROR_HAS(readError(writeBytes(v4)),
                   "unsupported .npy format version 4.0");
  std::string v11 = good;
  v11[7] = 1;
  EXPECT_ERROR_HAS(readError(writeBytes(v11)),
                   "unsupported .npy format version 1.1");
  std::string longHeader = good;
  longHeader[9] = '\x7f';
  EXPECT_ERROR_HAS(readError(writeBytes(longHeader)), "runs past the end");
  EXPECT_ERROR_HAS(readError(writeNpyFile(kF32Dict, data.substr(0, 6))),
                   "needs 8 data bytes, the file has 6");
  EXPECT_ERROR_HAS(readError(writeNpyFile(kF32Dict, data + "x")),
                   "needs 8 data bytes, the file has 9");
  EXPECT_ERROR_HAS(
      readError(writeNpyFile(
          "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
          std::string("\x01\x00\x02", 3))),
      "bool element 2 has value 2");
  EXPECT_ERROR_HAS(readError(path("missing.npy")), "cannot open");
  EXPECT_ERROR_HAS(readError(dir), "not a readable regular file");

  // Every truncation of a valid file fails cleanly.
  for (size_t len = 0; len < good.size(); ++len)
    EXPECT_THROW(readNpy(writeBytes(good.substr(0, len))), FormatError) << len;
}

TEST_F(NpyTest, RejectsBadHeaderDicts) {
  const std::pair<const char *, const char *> cases[] = {
      {"", "expected '{'"},
      {"{'descr': '<f4', 'fortran_order': False}", "lacks one of"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
       "unexpected key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': "
       "(2,)}",
       "duplicate key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': Nope, 'shape': (2,)}",
       "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}",
       "expected a non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3; 4)}",
       "expected ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(99999999999999999999,)}",
       "dimension out of range"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
       "expected '}'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
       "unexpected data after the header dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",
       "one-element shape tuple without a trailing comma"},
      {"{'descr: '<f4'}", "expected ':'"},
      {"{'descr': '<f\\4'}", "unsupported character in string"},
      {"{'descr", "unterminated string"},
      {"{descr: 1}", "expected a quoted string"},
      {"{'descr': '<f8', 'fortran_order': False, 'shape': "
       "(4294967296, 4294967296, 4294967296)}",
       "too many elements"},
      // Found by the fuzzer: a zero dim beside huge ones (the size check
      // skipped them, numElements then overflowed).
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(1, 4388, 4, 66666666666647, 4488, 0, 647)}",
       "too many elements"},
  };
  for (const auto &[dict, message] : cases)
    EXPECT_ERROR_HAS(readError(writeNpyFile(dict, "")), message);
  // Offsets count from the start of the file.
  EXPECT_ERROR_HAS(readError(writeNpyFile("{'descr' 1}", "")),
                   "invalid .npy header at byte 19: expected ':'");
}
