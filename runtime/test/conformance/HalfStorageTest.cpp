//===- HalfStorageTest.cpp - bf16/fp16 kernels compute in fp32 ------------===//
//
// The kernels that store bf16 or fp16 without summing products (norms,
// softmax, unary functions, dropout): each result is the fp32 kernel's on
// the widened values (and fp32 parameters), rounded once, on any pool.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;
using backend::UnaryKind;

namespace {

const Shape kShape = {6, 5, 96};

/// Checks `kernel(x, out, pool)` on a half tensor against the same kernel
/// on its fp32 values, rounded once.
void expectRoundedOnce(
    const std::string &what, const HostTensor &x32,
    const std::function<void(const TensorView &, const TensorView &,
                             ThreadPool &)> &kernel) {
  for (DType half : {DType::BF16, DType::F16}) {
    HostTensor x = toHalf(x32, half);
    HostTensor wide(DType::F32, x.shape);
    ThreadPool one(1);
    kernel(toF32(x).view(), wide.view(), one);
    HostTensor expected = toHalf(wide, half);
    forEachPool([&](ThreadPool &pool) {
      HostTensor out(half, x.shape);
      kernel(x.view(), out.view(), pool);
      EXPECT_EQ(out.storage, expected.storage)
          << what << " " << dtypeName(half);
    });
  }
}

TEST(HalfStorage, NormsWithFp32Parameters) {
  std::mt19937_64 rng(11);
  HostTensor x = randomF32(kShape, rng, -3, 3);
  HostTensor scale = randomF32({96}, rng, 0.5f, 1.5f);
  HostTensor bias = randomF32({96}, rng, -1, 1);
  expectRoundedOnce("layer_norm", x, [&](auto &in, auto &out, auto &pool) {
    backend::layerNorm(in, scale.view(), bias.view(), out, 1, 1e-5f, pool);
  });
  expectRoundedOnce(
      "layer_norm without affine", x, [&](auto &in, auto &out, auto &pool) {
        backend::layerNorm(in, noTensor(), noTensor(), out, 2, 1e-5f, pool);
      });
  expectRoundedOnce("rms_norm", x, [&](auto &in, auto &out, auto &pool) {
    backend::rmsNorm(in, scale.view(), out, 1, 1e-6f, pool);
  });
}

TEST(HalfStorage, NormParametersOfTheInputType) {
  std::mt19937_64 rng(12);
  HostTensor x = toBf16(randomF32(kShape, rng, -3, 3));
  HostTensor scale = toBf16(randomF32({96}, rng, 0.5f, 1.5f));
  HostTensor bias = toBf16(randomF32({96}, rng, -1, 1));
  ThreadPool pool(2);
  HostTensor wide(DType::F32, kShape), out(DType::BF16, kShape);
  backend::layerNorm(toF32(x).view(), toF32(scale).view(), toF32(bias).view(),
                     wide.view(), 1, 1e-5f, pool);
  backend::layerNorm(x.view(), scale.view(), bias.view(), out.view(), 1, 1e-5f,
                     pool);
  EXPECT_EQ(out.storage, toBf16(wide).storage);
}

TEST(HalfStorage, SoftmaxAlongEachAxis) {
  std::mt19937_64 rng(13);
  HostTensor x = randomF32(kShape, rng, -8, 8);
  for (int64_t axis : {0, 1, 2})
    for (bool log : {false, true})
      expectRoundedOnce("softmax axis " + std::to_string(axis), x,
                        [&](auto &in, auto &out, auto &pool) {
                          backend::softmax(in, out, axis, log, pool);
                        });
}

TEST(HalfStorage, UnaryFunctions) {
  std::mt19937_64 rng(14);
  HostTensor x = randomF32(kShape, rng, -4, 4);
  for (UnaryKind kind :
       {UnaryKind::Tanh, UnaryKind::GeluTanh, UnaryKind::GeluErf,
        UnaryKind::Silu, UnaryKind::Exp, UnaryKind::Neg, UnaryKind::Sigmoid})
    expectRoundedOnce("unary " + std::to_string(int(kind)), x,
                      [&](auto &in, auto &out, auto &pool) {
                        backend::unary(kind, in, out, pool);
                      });
}

TEST(HalfStorage, DropoutKeepsTheSameElements) {
  std::mt19937_64 rng(15);
  HostTensor x = randomF32(kShape, rng, -4, 4);
  expectRoundedOnce("dropout", x, [&](auto &in, auto &out, auto &pool) {
    backend::dropout(in, out, 0.3f, 1234, pool, /*offset=*/7);
  });
}

} // namespace
