//===- DropoutTest.cpp - Conformance of dropout and its generator ---------===//
//
// The counter-based generator's range and statistics, and dropout's keep
// rule, scaling, edge probabilities and independence from the thread count.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

TEST(Dropout, UniformStreamStatistics) {
  const int n = 1000000;
  double sum = 0, sumSq = 0, lag = 0;
  std::vector<int> buckets(100, 0);
  float prev = backend::uniformFromCounter(7, 0);
  for (int i = 0; i < n; ++i) {
    float u = backend::uniformFromCounter(7, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    sumSq += u * u;
    lag += (u - 0.5) * (prev - 0.5);
    prev = u;
    ++buckets[static_cast<int>(u * 100)];
  }
  EXPECT_NEAR(sum / n, 0.5, 0.002);
  EXPECT_NEAR(sumSq / n - (sum / n) * (sum / n), 1.0 / 12, 0.001);
  EXPECT_NEAR(lag / n, 0.0, 0.001); // consecutive counters uncorrelated
  for (int b : buckets)
    EXPECT_NEAR(b, n / 100, 500);
  // Streams of neighbouring seeds differ.
  int same = 0;
  for (int i = 0; i < 1000; ++i)
    same +=
        backend::uniformFromCounter(7, i) == backend::uniformFromCounter(8, i);
  EXPECT_LT(same, 5);
}

TEST(Dropout, KeepsByCounterAndScales) {
  std::mt19937_64 rng(71);
  HostTensor x = randomF32({4, 25000}, rng, 0.5f, 1.5f);
  const float p = 0.3f;
  const uint64_t seed = 1234;
  std::vector<uint8_t> reference;
  forEachPool([&](ThreadPool &pool) {
    HostTensor out(DType::F32, x.shape);
    backend::dropout(x.view(), out.view(), p, seed, pool);
    int64_t kept = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      float got = out.data<float>()[i];
      bool keep = backend::uniformFromCounter(seed, i) >= p;
      kept += keep;
      if (keep)
        ASSERT_NEAR(got, x.data<float>()[i] / (1 - p), 1e-6) << i;
      else
        ASSERT_EQ(got, 0.0f) << i;
    }
    EXPECT_NEAR(double(kept) / x.numel(), 1 - p, 0.01);
    if (reference.empty())
      reference = out.storage;
    else
      EXPECT_EQ(out.storage, reference) << "depends on the thread count";
  });
  ThreadPool pool(2);
  HostTensor other(DType::F32, x.shape);
  backend::dropout(x.view(), other.view(), p, seed + 1, pool);
  EXPECT_NE(other.storage, reference);
}

TEST(Dropout, StepStreams) {
  // Step 0 is the op's own stream (inference graphs unchanged); every other
  // step a different one, the same each time it is asked for.
  EXPECT_EQ(backend::dropoutStreamSeed(42, 0), 42u);
  EXPECT_NE(backend::dropoutStreamSeed(42, 1), 42u);
  EXPECT_NE(backend::dropoutStreamSeed(42, 1), backend::dropoutStreamSeed(42, 2));
  EXPECT_EQ(backend::dropoutStreamSeed(42, 5), backend::dropoutStreamSeed(42, 5));
  std::mt19937_64 rng(5);
  HostTensor x = randomF32({4096}, rng);
  HostTensor a(DType::F32, x.shape), b(DType::F32, x.shape);
  ThreadPool pool(2);
  backend::dropout(x.view(), a.view(), 0.5f, backend::dropoutStreamSeed(9, 1), pool);
  backend::dropout(x.view(), b.view(), 0.5f, backend::dropoutStreamSeed(9, 2), pool);
  EXPECT_NE(a.storage, b.storage) << "two steps drew the same mask";
}

TEST(Dropout, EdgeProbabilities) {
  std::mt19937_64 rng(72);
  HostTensor x = randomF32({1000}, rng);
  ThreadPool pool(2);
  HostTensor out(DType::F32, x.shape);
  backend::dropout(x.view(), out.view(), 0.0f, 5, pool);
  EXPECT_EQ(out.storage, x.storage);
  backend::dropout(x.view(), out.view(), 1.0f, 5, pool);
  EXPECT_EQ(out.values<float>(), std::vector<float>(1000, 0.0f));
  EXPECT_THROW(backend::dropout(x.view(), out.view(), 1.5f, 5, pool),
               KernelError);
  EXPECT_THROW(backend::dropout(x.view(), out.view(), -0.1f, 5, pool),
               KernelError);
  HostTensor i(DType::I32, {3});
  EXPECT_THROW(backend::dropout(i.view(), i.view(), 0.5f, 5, pool),
               KernelError);
}

} // namespace
