//===- NormalizationTest.cpp - Conformance of softmax and the norms -------===//
//
// Softmax and log-softmax along every kind of axis, layer norm and RMS norm
// with and without affine parameters, against double references.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

TEST(Softmax, AxesShapesAndLog) {
  std::mt19937_64 rng(31);
  struct Case {
    Shape shape;
    int64_t axis;
    float range;
  };
  std::vector<Case> cases = {
      {{5}, 0, 10},        {{3, 7}, 1, 10},      {{4, 1000}, 1, 10},
      {{2, 3, 17}, 2, 10}, {{2, 300, 5}, 1, 10}, {{10, 600}, 0, 10},
      {{3, 1}, 1, 10},     {{1, 4}, 0, 10},      {{600, 130}, 1, 10},
      {{4, 64}, 1, 1000}, // exp would overflow without the max shift
  };
  for (const Case &c : cases) {
    HostTensor x = randomF32(c.shape, rng, -c.range, c.range);
    for (bool log : {false, true}) {
      auto expected = refSoftmax(toDoubles(x), c.shape, c.axis, log);
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, c.shape);
        backend::softmax(x.view(), out.view(), c.axis, log, pool);
        expectClose(out, expected, 1e-5, 1e-6,
                    shapeToString(c.shape) + " axis " + std::to_string(c.axis) +
                        (log ? " log" : ""));
      });
    }
  }
}

TEST(Softmax, MaskedEntriesGetZeroWeight) {
  HostTensor x = makeTensor<float>(
      DType::F32, {2, 3}, {1.0f, -INFINITY, 1.0f, -INFINITY, 0.0f, -INFINITY});
  ThreadPool pool(1);
  HostTensor out(DType::F32, {2, 3});
  backend::softmax(x.view(), out.view(), 1, false, pool);
  EXPECT_EQ(out.values<float>(),
            (std::vector<float>{0.5f, 0.0f, 0.5f, 0.0f, 1.0f, 0.0f}));
}

TEST(LayerNorm, AffineVariantsAndRanks) {
  std::mt19937_64 rng(32);
  struct Case {
    Shape shape;
    int64_t normalizedRank;
  };
  for (const Case &c : std::vector<Case>{{{4, 768}, 1},
                                         {{2, 3, 4, 5}, 2},
                                         {{7}, 1},
                                         {{3, 5}, 2},
                                         {{300, 100}, 1},
                                         {{5, 33}, 1}}) {
    Shape trailing(c.shape.end() - c.normalizedRank, c.shape.end());
    int64_t n = numElements(trailing);
    HostTensor x = randomF32(c.shape, rng, -2, 2);
    HostTensor scale = randomF32(trailing, rng, 0.5f, 1.5f);
    HostTensor bias = randomF32(trailing, rng, -1, 1);
    for (int variant = 0; variant < 4; ++variant) {
      bool hasScale = variant & 1, hasBias = variant & 2;
      auto expected = refNorm(
          toDoubles(x), n, hasScale ? toDoubles(scale) : std::vector<double>{},
          hasBias ? toDoubles(bias) : std::vector<double>{}, 1e-5, false);
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, c.shape);
        backend::layerNorm(x.view(), hasScale ? scale.view() : noTensor(),
                           hasBias ? bias.view() : noTensor(), out.view(),
                           c.normalizedRank, 1e-5f, pool);
        expectClose(out, expected, 1e-5, 1e-5,
                    shapeToString(c.shape) + " variant " +
                        std::to_string(variant));
      });
    }
  }
}

TEST(LayerNorm, LargeMeanSmallSpread) {
  std::mt19937_64 rng(33);
  HostTensor x = randomF32({8, 512}, rng, -0.01f, 0.01f);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] += 1000.0f;
  auto expected = refNorm(toDoubles(x), 512, {}, {}, 1e-6, false);
  ThreadPool pool(2);
  HostTensor out(DType::F32, x.shape);
  backend::layerNorm(x.view(), noTensor(), noTensor(), out.view(), 1, 1e-6f,
                     pool);
  expectClose(out, expected, 1e-5, 1e-5);
}

TEST(RmsNorm, WithAndWithoutScale) {
  std::mt19937_64 rng(34);
  for (const auto &[shape, rank] : std::vector<std::pair<Shape, int64_t>>{
           {{4, 768}, 1}, {{2, 3, 4}, 2}, {{500, 64}, 1}, {{9}, 1}}) {
    Shape trailing(shape.end() - rank, shape.end());
    HostTensor x = randomF32(shape, rng, -3, 3);
    HostTensor scale = randomF32(trailing, rng, 0.5f, 1.5f);
    for (bool hasScale : {false, true}) {
      auto expected = refNorm(
          toDoubles(x), numElements(trailing),
          hasScale ? toDoubles(scale) : std::vector<double>{}, {}, 1e-6, true);
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, shape);
        backend::rmsNorm(x.view(), hasScale ? scale.view() : noTensor(),
                         out.view(), rank, 1e-6f, pool);
        expectClose(out, expected, 1e-5, 1e-6, shapeToString(shape));
      });
    }
  }
}

TEST(Normalization, RejectsBadArguments) {
  ThreadPool pool(1);
  HostTensor x(DType::F32, {2, 4}), out(DType::F32, {2, 4});
  HostTensor badScale(DType::F32, {3});
  EXPECT_THROW(backend::layerNorm(x.view(), badScale.view(), noTensor(),
                                  out.view(), 1, 1e-5f, pool),
               KernelError);
  EXPECT_THROW(
      backend::rmsNorm(x.view(), noTensor(), out.view(), 3, 1e-5f, pool),
      KernelError);
  EXPECT_THROW(backend::softmax(x.view(), out.view(), 2, false, pool),
               KernelError);
  HostTensor i(DType::I32, {2, 4});
  EXPECT_THROW(backend::softmax(i.view(), i.view(), 1, false, pool),
               KernelError);
}

} // namespace
