//===- ReduceTest.cpp - Conformance of the reductions ---------------------===//
//
// Every reduction kind over many axis sets (contiguous and not, none, all,
// size-1 dims) on float and integer tensors, against references that
// accumulate each input element into its output slot.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;
using backend::ReduceKind;

namespace {

Shape keptShape(const Shape &s, const std::vector<int64_t> &axes) {
  Shape out = s;
  for (int64_t a : axes)
    out[a] = 1;
  return out;
}

/// Reference reduction; integer sums and products wrap like the kernels'
/// (computed modulo 2^64, then truncated to the element type).
std::vector<double> refReduce(ReduceKind kind, const HostTensor &x,
                              const std::vector<int64_t> &axes) {
  Shape os = keptShape(x.shape, axes);
  int64_t count =
      os.empty() || numElements(os) == 0 ? 1 : x.numel() / numElements(os);
  bool isInt = x.dtype != DType::F32;
  std::vector<double> acc(numElements(os));
  std::vector<uint64_t> iacc(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean:
      acc[i] = 0;
      iacc[i] = 0;
      break;
    case ReduceKind::Prod:
      acc[i] = 1;
      iacc[i] = 1;
      break;
    case ReduceKind::Max:
      acc[i] = -INFINITY;
      break;
    case ReduceKind::Min:
      acc[i] = INFINITY;
      break;
    }
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto idx = unravel(i, x.shape);
    for (int64_t a : axes)
      idx[a] = 0;
    int64_t o = ravel(idx, os);
    double v = elementAsDouble(x, i);
    switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean:
      acc[o] += v;
      iacc[o] += static_cast<uint64_t>(static_cast<int64_t>(v));
      break;
    case ReduceKind::Prod:
      acc[o] *= v;
      iacc[o] *= static_cast<uint64_t>(static_cast<int64_t>(v));
      break;
    case ReduceKind::Max:
      acc[o] = std::max(acc[o], v);
      break;
    case ReduceKind::Min:
      acc[o] = std::min(acc[o], v);
      break;
    }
  }
  for (size_t o = 0; o < acc.size(); ++o) {
    if (kind == ReduceKind::Mean)
      acc[o] /= count;
    if (isInt && (kind == ReduceKind::Sum || kind == ReduceKind::Prod))
      acc[o] = x.dtype == DType::I64 ? double(int64_t(iacc[o]))
                                     : double(int32_t(uint32_t(iacc[o])));
  }
  return acc;
}

const ReduceKind kKinds[] = {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Max,
                             ReduceKind::Min, ReduceKind::Prod};

struct ReduceCase {
  Shape shape;
  std::vector<int64_t> axes;
};

std::vector<ReduceCase> reduceCases() {
  std::vector<ReduceCase> cases;
  for (std::vector<int64_t> axes :
       std::vector<std::vector<int64_t>>{{},
                                         {0},
                                         {1},
                                         {3},
                                         {0, 1},
                                         {1, 2},
                                         {2, 3},
                                         {0, 2},
                                         {1, 3},
                                         {0, 3},
                                         {0, 2, 3},
                                         {0, 1, 2, 3}})
    cases.push_back({{2, 3, 4, 5}, axes});
  cases.push_back({{}, {}});
  cases.push_back({{7}, {0}});
  cases.push_back({{1, 5, 1, 3}, {0, 2}});
  cases.push_back({{1, 5, 1, 3}, {1}});
  cases.push_back({{256, 1000}, {1}});
  cases.push_back({{256, 1000}, {0}});
  cases.push_back({{3, 1000, 70}, {1}});
  cases.push_back({{60, 7, 50, 3}, {1, 3}});
  cases.push_back({{2, 2000}, {1}});
  return cases;
}

TEST(Reduce, FloatKindsAndAxisSets) {
  std::mt19937_64 rng(51);
  for (const ReduceCase &c : reduceCases()) {
    for (ReduceKind kind : kKinds) {
      // Products of many factors stay finite near 1.
      HostTensor x = kind == ReduceKind::Prod
                         ? randomF32(c.shape, rng, 0.9f, 1.1f)
                         : randomF32(c.shape, rng, -1, 1);
      auto expected = refReduce(kind, x, c.axes);
      int64_t count =
          x.numel() / std::max<int64_t>(1, int64_t(expected.size()));
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, keptShape(c.shape, c.axes));
        backend::reduce(kind, x.view(), out.view(), c.axes, pool);
        // Sums of n terms of size ~1 cancel to much smaller results.
        double atol = kind == ReduceKind::Sum ? 1e-6 * count : 1e-6;
        expectClose(out, expected, 1e-5, atol,
                    "kind " + std::to_string(int(kind)) + " " +
                        shapeToString(c.shape) + " axes " +
                        std::to_string(c.axes.size()));
      });
    }
  }
}

// bf16 and fp16: the fp32 reduction of the values (same pool), rounded
// once.
TEST(Reduce, HalfSumsInFp32AndRoundsOnce) {
  std::mt19937_64 rng(52);
  for (DType half : {DType::BF16, DType::F16})
    for (const ReduceCase &c : reduceCases())
      for (ReduceKind kind :
           {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Max}) {
        HostTensor x = toHalf(randomF32(c.shape, rng, -1, 1), half);
        HostTensor x32(DType::F32, c.shape);
        for (int64_t i = 0; i < x.numel(); ++i)
          x32.data<float>()[i] = static_cast<float>(elementAsDouble(x, i));
        forEachPool([&](ThreadPool &pool) {
          // fp32 sums depend on the thread count; the same pool's is the one.
          HostTensor wide(DType::F32, keptShape(c.shape, c.axes));
          backend::reduce(kind, x32.view(), wide.view(), c.axes, pool);
          HostTensor expected = toHalf(wide, half);
          HostTensor out(half, keptShape(c.shape, c.axes));
          backend::reduce(kind, x.view(), out.view(), c.axes, pool);
          EXPECT_EQ(out.storage, expected.storage)
              << dtypeName(half) << " kind " << int(kind) << " "
              << shapeToString(c.shape);
        });
      }
}

TEST(Reduce, IntegerKinds) {
  std::mt19937_64 rng(52);
  for (DType t : {DType::I64, DType::I32}) {
    for (const ReduceCase &c : reduceCases()) {
      for (ReduceKind kind : {ReduceKind::Sum, ReduceKind::Max, ReduceKind::Min,
                              ReduceKind::Prod}) {
        HostTensor x = kind == ReduceKind::Prod
                           ? randomInt(t, c.shape, rng, -3, 3)
                           : randomInt(t, c.shape, rng, -1000000, 1000000);
        auto expected = refReduce(kind, x, c.axes);
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(t, keptShape(c.shape, c.axes));
          backend::reduce(kind, x.view(), out.view(), c.axes, pool);
          ASSERT_EQ(toDoubles(out), expected)
              << dtypeName(t) << " kind " << int(kind) << " "
              << shapeToString(c.shape);
        });
      }
    }
  }
}

TEST(Reduce, EmptyReducedDimGivesIdentity) {
  ThreadPool pool(1);
  HostTensor x(DType::F32, {3, 0});
  HostTensor sum(DType::F32, {3, 1}), prod(DType::F32, {3, 1}),
      max(DType::F32, {3, 1});
  backend::reduce(ReduceKind::Sum, x.view(), sum.view(), {1}, pool);
  backend::reduce(ReduceKind::Prod, x.view(), prod.view(), {1}, pool);
  backend::reduce(ReduceKind::Max, x.view(), max.view(), {1}, pool);
  EXPECT_EQ(sum.values<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(prod.values<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(max.values<float>(), std::vector<float>(3, -INFINITY));
}

TEST(Reduce, RejectsBadArguments) {
  ThreadPool pool(1);
  HostTensor i(DType::I32, {2, 3}), io(DType::I32, {2, 1});
  EXPECT_THROW(
      backend::reduce(ReduceKind::Mean, i.view(), io.view(), {1}, pool),
      KernelError);
  HostTensor f(DType::F32, {2, 3}), fo(DType::F32, {2, 1}),
      fbad(DType::F32, {2});
  EXPECT_THROW(
      backend::reduce(ReduceKind::Sum, f.view(), fbad.view(), {1}, pool),
      KernelError);
  EXPECT_THROW(backend::reduce(ReduceKind::Sum, f.view(), fo.view(), {2}, pool),
               KernelError);
  HostTensor all(DType::F32, {1, 1});
  EXPECT_THROW(
      backend::reduce(ReduceKind::Sum, f.view(), all.view(), {1, 0}, pool),
      KernelError);
  HostTensor h(DType::F64, {2, 3}), ho(DType::F64, {2, 1});
  EXPECT_THROW(backend::reduce(ReduceKind::Sum, h.view(), ho.view(), {1}, pool),
               KernelError);
}

} // namespace
