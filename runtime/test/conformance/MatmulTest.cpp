//===- MatmulTest.cpp - Conformance of matmul and linear ------------------===//
//
// Plain, transposed, batched, batch-broadcast and collapsed products, small
// and large enough to be split over the pool, and the fully connected layer,
// against a double reference.
// Each element is checked relative to sum |a_ik b_kj|, the scale of its
// rounding error, so cancellation does not need a loose tolerance.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

struct MatmulCase {
  Shape a, b;
  bool transA, transB;
};

void checkMatmul(const MatmulCase &c, std::mt19937_64 &rng) {
  HostTensor a = randomF32(c.a, rng), b = randomF32(c.b, rng);
  Shape outShape;
  std::vector<double> magnitude;
  auto expected = refMatmul(a, b, c.transA, c.transB, outShape, magnitude);
  std::string what = shapeToString(c.a) + (c.transA ? "^T" : "") + " x " +
                     shapeToString(c.b) + (c.transB ? "^T" : "");
  forEachPool([&](ThreadPool &pool) {
    HostTensor out(DType::F32, outShape);
    backend::matmul(a.view(), b.view(), out.view(), c.transA, c.transB, pool);
    auto got = toDoubles(out);
    int bad = 0;
    for (size_t i = 0; i < got.size() && bad < 5; ++i)
      if (!(std::fabs(got[i] - expected[i]) <= 1e-5 * magnitude[i] + 1e-6)) {
        ++bad;
        ADD_FAILURE() << what << " element " << i << ": got " << got[i]
                      << ", expected " << expected[i];
      }
  });
}

TEST(Matmul, ShapesTransposesAndBatches) {
  std::mt19937_64 rng(21);
  std::vector<MatmulCase> cases = {
      {{3, 4}, {4, 5}, false, false},
      {{1, 1}, {1, 1}, false, false},
      {{4, 3}, {4, 5}, true, false},
      {{3, 4}, {5, 4}, false, true},
      {{4, 3}, {5, 4}, true, true},
      {{2, 3, 4}, {4, 5}, false, false},    // batch folded into M
      {{2, 3, 4}, {1, 4, 5}, false, false}, // size-1 batch of b
      {{2, 3, 4}, {5, 4}, false, true},     // folded, b transposed
      {{2, 4, 3}, {4, 5}, true, false},     // not foldable: a^T
      {{2, 3, 4}, {2, 4, 5}, false, false},
      {{2, 1, 3, 4}, {1, 5, 4, 6}, false, false}, // both batches broadcast
      {{3, 4}, {2, 4, 5}, false, false},          // a broadcast
      {{2, 3, 5, 4}, {3, 6, 5}, true, true},
      {{64, 300}, {300, 200}, false, false}, // split along N
      {{300, 64}, {64, 40}, false, false},   // split along M
      {{300, 64}, {40, 64}, false, true},
      {{64, 300}, {64, 200}, true, false},
      {{1, 768}, {768, 100}, false, false}, // matrix-vector forms
      {{1, 768}, {100, 768}, false, true},
      {{768, 1}, {768, 100}, true, false},
      {{100, 768}, {768, 1}, false, false},
      {{768, 100}, {768, 1}, true, false},
      {{100, 768}, {1, 768}, false, true},
      {{1, 50}, {50, 1}, false, false},
      {{4, 1, 64}, {4, 64, 300}, false, false},
      {{2, 3, 1, 16}, {2, 3, 40, 16}, false, true},
      {{3, 40, 50}, {3, 50, 60}, false, false}, // odd batch: split products
      {{12, 33, 17}, {12, 29, 17}, false, true},
  };
  for (const MatmulCase &c : cases)
    checkMatmul(c, rng);
}

// bf16 or fp16 operands, products summed in fp32: against the double
// product of the same rounded values, within fp32 accumulation (and, for a
// result of the operands' type, its rounding: 2^-8 relative for bf16,
// 2^-11 for fp16). fp16 runs through the fp32 path on CPUs without
// AVX512-FP16, through oneDNN's kernel on those with it.
TEST(Matmul, HalfOperandsAccumulateInFp32) {
  std::mt19937_64 rng(23);
  std::vector<MatmulCase> cases = {
      {{3, 4}, {4, 5}, false, false},    {{4, 3}, {5, 4}, true, true},
      {{2, 3, 4}, {4, 5}, false, false}, {{2, 4, 3}, {4, 5}, true, false},
      {{64, 300}, {300, 200}, false, false}, {{300, 64}, {40, 64}, false, true},
      {{1, 768}, {768, 100}, false, false},  {{100, 768}, {768, 1}, false, false},
      {{12, 33, 17}, {12, 29, 17}, false, true},
  };
  for (DType half : {DType::BF16, DType::F16})
    for (const MatmulCase &c : cases)
      for (DType result : {DType::F32, half}) {
        HostTensor a = toHalf(randomF32(c.a, rng), half),
                   b = toHalf(randomF32(c.b, rng), half);
        Shape outShape;
        std::vector<double> magnitude;
        auto expected =
            refMatmul(a, b, c.transA, c.transB, outShape, magnitude);
        double rel = result == DType::BF16  ? 1.0 / 256
                     : result == DType::F16 ? 1.0 / 2048
                                            : 1e-5;
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(result, outShape);
          backend::matmul(a.view(), b.view(), out.view(), c.transA, c.transB,
                          pool);
          auto got = toDoubles(out);
          int bad = 0;
          for (size_t i = 0; i < got.size() && bad < 5; ++i)
            if (!(std::fabs(got[i] - expected[i]) <=
                  rel * magnitude[i] + 1e-6)) {
              ++bad;
              ADD_FAILURE()
                  << shapeToString(c.a) << " x " << shapeToString(c.b)
                  << " into " << dtypeName(result) << " element " << i
                  << ": got " << got[i] << ", expected " << expected[i];
            }
        });
      }
}

TEST(Matmul, MixedOperandTypesAreRefused) {
  std::mt19937_64 rng(24);
  HostTensor a = toBf16(randomF32({2, 3}, rng)), b = randomF32({3, 2}, rng);
  HostTensor out(DType::F32, {2, 2});
  ThreadPool pool(1);
  EXPECT_THROW(backend::matmul(a.view(), b.view(), out.view(), false, false,
                               pool),
               KernelError);
}

TEST(Matmul, ThreadLimitAndEmptyReduction) {
  std::mt19937_64 rng(22);
  backend::setBlasThreads(1);
  checkMatmul({{70, 90}, {90, 110}, false, false}, rng);
  backend::setBlasThreads(0);
  checkMatmul({{70, 90}, {90, 110}, false, false}, rng);

  HostTensor a(DType::F32, {3, 0}), b(DType::F32, {0, 4});
  HostTensor out = randomF32({3, 4}, rng);
  ThreadPool pool(2);
  backend::matmul(a.view(), b.view(), out.view(), false, false, pool);
  for (float v : out.values<float>())
    EXPECT_EQ(v, 0.0f);
}

TEST(Linear, WeightLayoutsBiasAndRanks) {
  std::mt19937_64 rng(23);
  struct Case {
    Shape x;
    int64_t n;
    bool inOut, bias;
  };
  std::vector<Case> cases = {
      {{3, 5}, 4, false, true},      {{3, 5}, 4, true, true},
      {{3, 5}, 4, false, false},     {{5}, 4, false, true},
      {{2, 3, 64}, 300, true, true}, {{128, 96}, 200, false, true},
      {{1, 768}, 100, false, true}, // matrix-vector, accumulating on bias
      {{1, 768}, 100, true, false},  {{50, 64}, 1, false, true},
      {{50, 64}, 1, true, true},     {{4, 0}, 3, false, true},
  };
  // fp32; bf16 input and weight into a bf16 output (bf16 bias) or an fp32
  // one: the bias and the fp32 sum rounded once, within 2^-8 of the result.
  struct Types {
    DType operands, result;
  };
  for (Types t :
       {Types{DType::F32, DType::F32}, Types{DType::BF16, DType::BF16},
        Types{DType::BF16, DType::F32}, Types{DType::F16, DType::F16},
        Types{DType::F16, DType::F32}})
    for (const Case &c : cases) {
      int64_t k = c.x.back();
      auto as = [&](DType type, HostTensor h) {
        return type == DType::F32 ? h : toHalf(h, type);
      };
      HostTensor x = as(t.operands, randomF32(c.x, rng));
      HostTensor w = as(t.operands,
                        randomF32(c.inOut ? Shape{k, c.n} : Shape{c.n, k}, rng));
      HostTensor bias = as(t.result, randomF32({c.n}, rng));
      Shape outShape = c.x;
      outShape.back() = c.n;
      // The reference is a matmul of x as [M, K] with w (transposed unless
      // inOut), plus the bias.
      HostTensor x2 = x;
      x2.shape = {numElements(Shape(c.x.begin(), c.x.end() - 1)), k};
      Shape refShape;
      std::vector<double> magnitude;
      auto expected = refMatmul(x2, w, false, !c.inOut, refShape, magnitude);
      auto bv = toDoubles(bias);
      for (size_t i = 0; c.bias && i < expected.size(); ++i)
        expected[i] += bv[i % c.n];
      double rounding = t.result == DType::BF16  ? 1.0 / 256
                        : t.result == DType::F16 ? 1.0 / 2048
                                                 : 0.0;
      std::string what = shapeToString(c.x) + " n " + std::to_string(c.n) +
                         (c.inOut ? " in-out" : "") + (c.bias ? " bias" : "") +
                         " " + dtypeName(t.operands) + " -> " +
                         dtypeName(t.result);
      forEachPool([&](ThreadPool &pool) {
        HostTensor out = as(t.result, randomF32(outShape, rng)); // garbage
        backend::linear(x.view(), w.view(), c.bias ? bias.view() : noTensor(),
                        out.view(), c.inOut, pool);
        auto got = toDoubles(out);
        ASSERT_EQ(got.size(), expected.size()) << what;
        int bad = 0;
        for (size_t i = 0; i < got.size() && bad < 5; ++i)
          if (!(std::fabs(got[i] - expected[i]) <=
                rounding * std::fabs(expected[i]) + 1e-5 * (magnitude[i] + 1) +
                    1e-6)) {
            ++bad;
            ADD_FAILURE() << what << " element " << i << ": got " << got[i]
                          << ", expected " << expected[i];
          }
      });
    }
  ThreadPool pool(1);
  HostTensor x(DType::F32, {2, 3}), w(DType::I32, {4, 3}),
      out(DType::F32, {2, 4});
  EXPECT_THROW(
      backend::linear(x.view(), w.view(), noTensor(), out.view(), false, pool),
      KernelError);
}

TEST(Matmul, RejectsMismatchedShapesAndTypes) {
  ThreadPool pool(1);
  HostTensor a(DType::F32, {3, 4}), b(DType::F32, {5, 6}),
      out(DType::F32, {3, 6});
  EXPECT_THROW(
      backend::matmul(a.view(), b.view(), out.view(), false, false, pool),
      KernelError);
  HostTensor v(DType::F32, {4});
  EXPECT_THROW(
      backend::matmul(v.view(), b.view(), out.view(), false, false, pool),
      KernelError);
  HostTensor i(DType::I32, {4, 6}), o2(DType::F32, {3, 6});
  EXPECT_THROW(
      backend::matmul(a.view(), i.view(), o2.view(), false, false, pool),
      KernelError);
  HostTensor b3(DType::F32, {2, 4, 6}), o3(DType::F32, {3, 3, 6});
  EXPECT_THROW(
      backend::matmul(a.view(), b3.view(), o3.view(), false, false, pool),
      KernelError);
}

} // namespace
