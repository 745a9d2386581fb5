//===- Reduce.cpp - Sum, mean, max, min and product reductions ------------===//
//
// Dims of size 1 are dropped and adjacent dims that are both reduced or both
// kept are merged. One reduced group left means x is [outer, R, inner]:
// trailing reductions (inner == 1) reduce contiguous rows with vectorized
// helpers, others accumulate whole inner rows at once (vectorized across the
// inner dim). Several reduced groups take a general strided path. Float sums
// and products accumulate in double.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"
#include "VectorMath.h"

#include <limits>
#include <type_traits>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Integer sums and products wrap around (computed unsigned).
template <typename T> T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T> T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

/// The accumulator type, identity, step and contiguous-row reduction of one
/// reduction kind on element type T.
template <typename T, ReduceKind K> struct Reducer {
  static constexpr bool kFloat = std::is_floating_point_v<T>;
  static constexpr bool kWide =
      K == ReduceKind::Sum || K == ReduceKind::Mean || K == ReduceKind::Prod;
  using Acc = std::conditional_t<kFloat && kWide, double, T>;

  static Acc identity() {
    if constexpr (K == ReduceKind::Sum || K == ReduceKind::Mean)
      return Acc(0);
    else if constexpr (K == ReduceKind::Prod)
      return Acc(1);
    else if constexpr (K == ReduceKind::Max)
      return kFloat ? -std::numeric_limits<T>::infinity()
                    : std::numeric_limits<T>::lowest();
    else
      return kFloat ? std::numeric_limits<T>::infinity()
                    : std::numeric_limits<T>::max();
  }

  static Acc step(Acc a, T x) {
    if constexpr (K == ReduceKind::Sum || K == ReduceKind::Mean) {
      if constexpr (kFloat)
        return a + x;
      else
        return wrapAdd(a, x);
    } else if constexpr (K == ReduceKind::Prod) {
      if constexpr (kFloat)
        return a * x;
      else
        return wrapMul(a, x);
    } else if constexpr (K == ReduceKind::Max) {
      return a < x || x != x ? x : a; // a NaN wins, as in torch.amax
    } else {
      return x < a || x != x ? x : a;
    }
  }

  /// Reduction of x[0], x[stride], ..., x[(n-1) * stride] into a.
  static Acc run(Acc a, const T *x, int64_t n, int64_t stride) {
    if constexpr (std::is_same_v<T, float> && K != ReduceKind::Prod) {
      if (stride == 1) {
        if constexpr (K == ReduceKind::Max)
          return step(a, rowMax(x, n));
        else if constexpr (K == ReduceKind::Min)
          return step(a, rowMin(x, n));
        else
          return a + rowSum(x, n);
      }
    }
    for (int64_t i = 0; i < n; ++i)
      a = step(a, x[i * stride]);
    return a;
  }

  static T finish(Acc a, int64_t count) {
    if constexpr (K == ReduceKind::Mean)
      return static_cast<T>(a / static_cast<Acc>(count));
    else
      return static_cast<T>(a);
  }
};

/// Dims after dropping size-1 dims and merging neighbours of equal status.
struct ReduceLayout {
  Shape shape;
  std::vector<bool> reduced;
  int reducedGroups = 0;
};

ReduceLayout analyze(const Shape &shape, const std::vector<bool> &isReduced) {
  ReduceLayout l;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!l.shape.empty() && l.reduced.back() == isReduced[d]) {
      l.shape.back() *= shape[d];
      continue;
    }
    l.shape.push_back(shape[d]);
    l.reduced.push_back(isReduced[d]);
    l.reducedGroups += isReduced[d];
  }
  return l;
}

template <typename T, ReduceKind K>
void reduceTyped(const TensorView &x, const TensorView &out,
                 const ReduceLayout &l, ThreadPool &pool) {
  using R = Reducer<T, K>;
  using Acc = typename R::Acc;
  const T *px = x.as<T>();
  T *po = out.as<T>();
  int64_t outCount = out.numel();
  int64_t count = outCount == 0 ? 0 : x.numel() / outCount;

  if (l.reducedGroups <= 1) {
    // x is [outer, R, inner].
    int64_t outer = 1, r = 1, inner = 1;
    bool afterReduced = false;
    for (size_t g = 0; g < l.shape.size(); ++g) {
      if (l.reduced[g]) {
        r = l.shape[g];
        afterReduced = true;
      } else {
        (afterReduced ? inner : outer) *= l.shape[g];
      }
    }
    if (inner == 1) {
      int64_t grain =
          std::max<int64_t>(1, kGrainMedium / std::max<int64_t>(r, 1));
      pool.parallelFor(outer, grain, [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o)
          po[o] = R::finish(R::run(R::identity(), px + o * r, r, 1), count);
      });
      return;
    }
    // Accumulate inner rows in blocks that fit in L1.
    constexpr int64_t kBlock = 1024;
    int64_t blocks = (inner + kBlock - 1) / kBlock;
    int64_t grain =
        std::max<int64_t>(1, kGrainMedium / (std::max<int64_t>(r, 1) * kBlock));
    pool.parallelFor(outer * blocks, grain, [&](int64_t u0, int64_t u1) {
      Acc acc[kBlock];
      for (int64_t u = u0; u < u1; ++u) {
        int64_t o = u / blocks, c0 = (u % blocks) * kBlock;
        int64_t w = std::min(kBlock, inner - c0);
        for (int64_t j = 0; j < w; ++j)
          acc[j] = R::identity();
        const T *base = px + o * r * inner + c0;
        for (int64_t k = 0; k < r; ++k) {
          const T *__restrict row = base + k * inner;
          for (int64_t j = 0; j < w; ++j)
            acc[j] = R::step(acc[j], row[j]);
        }
        T *dst = po + o * inner + c0;
        for (int64_t j = 0; j < w; ++j)
          dst[j] = R::finish(acc[j], count);
      }
    });
    return;
  }

  // General case: each output element walks the reduced dims at their
  // strides in x.
  std::vector<int64_t> strides = contiguousStrides(l.shape);
  Shape keptShape, redShape;
  std::vector<int64_t> keptStrides, redStrides;
  for (size_t g = 0; g < l.shape.size(); ++g) {
    (l.reduced[g] ? redShape : keptShape).push_back(l.shape[g]);
    (l.reduced[g] ? redStrides : keptStrides).push_back(strides[g]);
  }
  LoopNest keptNest(keptShape, {keptStrides});
  LoopNest redNest(redShape, {redStrides});
  int64_t redStride = redNest.innerStride(0);
  pool.parallelFor(
      outCount,
      std::max<int64_t>(1, kGrainMedium / std::max<int64_t>(count, 1)),
      [&](int64_t e0, int64_t e1) {
        keptNest.forEachRun(
            e0, e1, [&](int64_t pos, const auto &koff, int64_t len) {
              for (int64_t i = 0; i < len; ++i) {
                const T *base = px + koff[0] + i * keptNest.innerStride(0);
                Acc a = R::identity();
                redNest.forEachRun(
                    0, count, [&](int64_t, const auto &roff, int64_t rlen) {
                      a = R::run(a, base + roff[0], rlen, redStride);
                    });
                po[pos + i] = R::finish(a, count);
              }
            });
      });
}

template <typename T>
void reduceKind(ReduceKind kind, const TensorView &x, const TensorView &out,
                const ReduceLayout &l, ThreadPool &pool) {
  switch (kind) {
  case ReduceKind::Sum:
    return reduceTyped<T, ReduceKind::Sum>(x, out, l, pool);
  case ReduceKind::Mean:
    if constexpr (std::is_floating_point_v<T>)
      return reduceTyped<T, ReduceKind::Mean>(x, out, l, pool);
    else
      fail("reduce",
           std::string("mean is not defined for ") + dtypeName(x.dtype));
  case ReduceKind::Max:
    return reduceTyped<T, ReduceKind::Max>(x, out, l, pool);
  case ReduceKind::Min:
    return reduceTyped<T, ReduceKind::Min>(x, out, l, pool);
  case ReduceKind::Prod:
    return reduceTyped<T, ReduceKind::Prod>(x, out, l, pool);
  }
  fail("reduce", "unknown reduction");
}

} // namespace

void reduce(ReduceKind kind, const TensorView &x, const TensorView &out,
            const std::vector<int64_t> &axes, ThreadPool &pool) {
  requireSameType("reduce", x, out);
  std::vector<bool> isReduced(x.rank(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    require(axes[i] >= 0 && axes[i] < x.rank() &&
                (i == 0 || axes[i] > axes[i - 1]),
            "reduce", "axes must be sorted, unique and in range");
    isReduced[axes[i]] = true;
  }
  Shape expected = x.shape;
  for (int64_t a : axes)
    expected[a] = 1;
  require(out.shape == expected, "reduce",
          "output shape " + shapeToString(out.shape) + " should be " +
              shapeToString(expected));
  if (out.numel() == 0)
    return;
  ReduceLayout layout = analyze(x.shape, isReduced);
  switch (x.dtype) {
  case DType::F32:
    return reduceKind<float>(kind, x, out, layout, pool);
  case DType::BF16:
  case DType::F16: { // summed in fp32, rounded once
    Widened wide = widenToF32(x, pool), result = f32Like(out);
    reduceKind<float>(kind, wide.view, result.view, layout, pool);
    return cast(result.view, out, pool);
  }
  case DType::I64:
    return reduceKind<int64_t>(kind, x, out, layout, pool);
  case DType::I32:
    return reduceKind<int32_t>(kind, x, out, layout, pool);
  default:
    unsupportedType("reduce", x.dtype);
  }
}

} // namespace accel::rt::cpu
