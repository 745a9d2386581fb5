//===- ExecutableTest.cpp - The loader refuses damaged executables --------===//
//
// A minimal executable (y = x @ w, w an input too) built with the FlatBuffers
// API: as written it loads and runs; one changed byte fails its checksum; a
// required operand marked absent fails when the kernel is bound, even in a
// file whose checksum is right.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Executable.h"
#include "accel/runtime/ExecutableChecksum.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/ThreadPool.h"
#include "accel/runtime/schema/executable_generated.h"

#include <gtest/gtest.h>

using namespace accel::rt;

namespace {

/// The executable as bytes; `rhs` is the matmul's second operand index.
std::vector<uint8_t> build(int rhs, bool seal = true) {
  flatbuffers::FlatBufferBuilder b;
  auto value = [&](const char *name, fb::Storage storage, int64_t offset) {
    return fb::CreateValue(
        b, b.CreateString(name), static_cast<uint8_t>(DType::F32),
        b.CreateVector(std::vector<int64_t>{2, 2}), storage, offset);
  };
  std::vector<flatbuffers::Offset<fb::Value>> values = {
      value("x", fb::Storage::Input, 0), value("w", fb::Storage::Input, 0),
      value("y", fb::Storage::Arena, 0)};
  std::vector<flatbuffers::Offset<fb::Attr>> attrs = {
      fb::CreateAttr(b, b.CreateString("transpose_lhs"),
                     b.CreateVector(std::vector<int64_t>{0})),
      fb::CreateAttr(b, b.CreateString("transpose_rhs"),
                     b.CreateVector(std::vector<int64_t>{0}))};
  auto inst = fb::CreateInstruction(
      b, b.CreateString("matmul"), b.CreateVector(std::vector<int>{0, rhs}),
      b.CreateVector(std::vector<int>{2}), b.CreateVector(attrs));
  auto fn = fb::CreateFunction(
      b, b.CreateString("main"), b.CreateVector(values),
      b.CreateVector(std::vector<int>{}),
      b.CreateVector(std::vector<int>{0, 1}),
      b.CreateVector(std::vector<int>{2}), b.CreateVectorOfStrings({"y"}), 0,
      b.CreateVector(std::vector{inst}), 64);
  auto functions = b.CreateVector(std::vector{fn});
  auto producer = b.CreateString("test");
  b.ForceDefaults(seal);
  fb::FinishExecutableBuffer(
      b, fb::CreateExecutable(b, kFormatVersion, producer, functions));
  std::vector<uint8_t> bytes(b.GetBufferPointer(),
                             b.GetBufferPointer() + b.GetSize());
  if (seal)
    EXPECT_TRUE(sealExecutable(bytes.data(), bytes.size()));
  return bytes;
}

std::string loadError(std::vector<uint8_t> bytes) {
  try {
    auto exe = Executable::fromBytes(std::move(bytes), "test.accx");
    ThreadPool pool(1);
    Executor executor(*exe, exe->mainFunction(), nullptr, pool);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(Executable, SealedRuns) {
  auto exe = Executable::fromBytes(build(1), "test.accx");
  ThreadPool pool(1);
  Executor executor(*exe, exe->mainFunction(), nullptr, pool);
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 0, 0, 1};
  std::vector<TensorView> out = executor.run(
      {{"x", {x, DType::F32, {2, 2}}}, {"w", {w, DType::F32, {2, 2}}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].as<float>()[3], 4.0f);
}

TEST(Executable, EveryChangedByteIsRefused) {
  std::vector<uint8_t> good = build(1);
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x01;
    EXPECT_NE(loadError(bad), "") << "byte " << i << " changed";
  }
  std::vector<uint8_t> bad = good;
  bad[bad.size() / 2] ^= 0x10;
  std::string error = loadError(bad);
  EXPECT_TRUE(error.find("damaged executable") != std::string::npos ||
              error.find("corrupt executable") != std::string::npos)
      << error;
}

TEST(Executable, WithoutChecksumIsRefused) {
  EXPECT_NE(loadError(build(1, /*seal=*/false)).find("it has none"),
            std::string::npos);
}

TEST(Executable, AbsentRequiredOperandIsRefused) {
  EXPECT_NE(loadError(build(-1)).find("operand 1 is absent, and the kernel "
                                      "needs it"),
            std::string::npos)
      << loadError(build(-1));
}

} // namespace
