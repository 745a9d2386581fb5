//===- Normalization.cpp - Softmax, layer norm and RMS norm kernels -------===//
//
// Row-wise kernels: rows are split over the thread pool, and each row is
// reduced with the vectorized double-accumulating helpers of VectorMath.h.
// Softmax subtracts the row maximum before exponentiating; layer norm uses a
// two-pass (mean, then squared deviations) variance. bf16/fp16 rows are
// widened to fp32 one at a time, normalized in fp32 with fp32 (or widened)
// parameters and rounded once, as PyTorch's CPU kernels for those types.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"
#include "VectorMath.h"

#include <cmath>
#include <vector>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Softmax of one contiguous row.
void softmaxRow(const float *x, float *y, int64_t n, bool log) {
  float m = rowMax(x, n);
  mapFloat8(x, y, n, [m](Float8 v) { return expVec(v - m); });
  double sum = rowSum(y, n);
  if (log) {
    // (x - max) first: it is exact for the large entries, where folding
    // max and log(sum) into one float would round away the result.
    float logSum = static_cast<float>(std::log(sum));
    for (int64_t i = 0; i < n; ++i)
      y[i] = (x[i] - m) - logSum;
  } else {
    float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i)
      y[i] *= inv;
  }
}

/// Softmax along a non-innermost axis: x is [axisLen, innerStride] and only
/// columns [c0, c1) are processed, each column being one softmax. Work runs
/// across columns so the loops vectorize.
void softmaxColumns(const float *__restrict x, float *__restrict y,
                    int64_t axisLen, int64_t innerStride, int64_t c0,
                    int64_t c1, bool log, std::vector<float> &maxBuf,
                    std::vector<double> &sumBuf) {
  int64_t w = c1 - c0;
  maxBuf.assign(w, -__builtin_inff());
  sumBuf.assign(w, 0.0);
  float *mx = maxBuf.data();
  double *sum = sumBuf.data();
  for (int64_t a = 0; a < axisLen; ++a) {
    const float *row = x + a * innerStride + c0;
    for (int64_t j = 0; j < w; ++j)
      mx[j] = mx[j] < row[j] ? row[j] : mx[j];
  }
  for (int64_t a = 0; a < axisLen; ++a) {
    const float *row = x + a * innerStride + c0;
    float *out = y + a * innerStride + c0;
    for (int64_t j = 0; j < w; ++j)
      out[j] = row[j] - mx[j];
    mapFloat8(out, out, w, expVec);
    for (int64_t j = 0; j < w; ++j)
      sum[j] += out[j];
  }
  if (log) {
    std::vector<float> logSum(w);
    for (int64_t j = 0; j < w; ++j)
      logSum[j] = static_cast<float>(std::log(sum[j]));
    for (int64_t a = 0; a < axisLen; ++a) {
      const float *row = x + a * innerStride + c0;
      float *out = y + a * innerStride + c0;
      for (int64_t j = 0; j < w; ++j)
        out[j] = (row[j] - mx[j]) - logSum[j];
    }
  } else {
    for (int64_t j = 0; j < w; ++j)
      mx[j] = static_cast<float>(1.0 / sum[j]);
    for (int64_t a = 0; a < axisLen; ++a) {
      float *out = y + a * innerStride + c0;
      for (int64_t j = 0; j < w; ++j)
        out[j] *= mx[j];
    }
  }
}

/// Rows and row length of a normalization over the trailing dims; checks
/// the optional affine parameters (the input's type, or f32 for a bf16/fp16
/// input).
std::pair<int64_t, int64_t>
normalizedRows(const char *kernel, const TensorView &x, const TensorView &out,
               int64_t normalizedRank,
               std::initializer_list<const TensorView *> params) {
  if (x.dtype != DType::F32 && !isHalfFloat(x.dtype))
    unsupportedType(kernel, x.dtype);
  require(out.dtype == x.dtype && out.shape == x.shape, kernel,
          "output must match the input");
  require(normalizedRank >= 1 && normalizedRank <= x.rank(), kernel,
          "normalized rank out of range");
  int64_t n = 1;
  for (int64_t d = x.rank() - normalizedRank; d < x.rank(); ++d)
    n *= x.shape[d];
  for (const TensorView *p : params) {
    if (!p->data)
      continue;
    if (p->dtype != DType::F32 && p->dtype != x.dtype)
      unsupportedType(kernel, p->dtype);
    require(p->numel() == n, kernel,
            "parameter shape " + shapeToString(p->shape) +
                " does not match the normalized size");
  }
  return {n == 0 ? 0 : x.numel() / n, n};
}

/// A normalization's parameter as fp32 (widened once when it has the
/// input's low-precision type).
struct F32Param {
  Widened wide;
  const float *data = nullptr;
  F32Param(const TensorView &p, ThreadPool &pool) {
    if (!p.data)
      return;
    wide = widenToF32(p, pool);
    data = wide.view.as<float>();
  }
};

/// Runs `row(xr, yr)` (fp32 rows of n elements) over rows [r0, r1) of x
/// into out: in place on fp32 data, through per-thread fp32 copies of one
/// row at a time for bf16/fp16 (each result rounded once).
template <typename Row>
void forRowsAsF32(const TensorView &x, const TensorView &out, int64_t n,
                  int64_t r0, int64_t r1, Row row) {
  if (x.dtype == DType::F32) {
    for (int64_t r = r0; r < r1; ++r)
      row(x.as<float>() + r * n, out.as<float>() + r * n);
    return;
  }
  thread_local std::vector<float> wideX, wideY;
  wideX.resize(n);
  wideY.resize(n);
  const auto *px = static_cast<const uint16_t *>(x.data);
  auto *po = static_cast<uint16_t *>(out.data);
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t i = 0; i < n; ++i)
      wideX[i] = halfBitsToFloat(x.dtype, px[r * n + i]);
    row(wideX.data(), wideY.data());
    for (int64_t i = 0; i < n; ++i)
      po[r * n + i] = floatToHalfBits(x.dtype, wideY[i]);
  }
}

/// y = d * scale + bias over a row, with d given per element by delta(i)
/// and the affine terms optional.
template <bool HasScale, bool HasBias, typename Delta>
inline void affineRow(float *__restrict y, const float *__restrict scale,
                      const float *__restrict bias, int64_t n, Delta delta) {
  for (int64_t i = 0; i < n; ++i) {
    float v = delta(i);
    if constexpr (HasScale)
      v *= scale[i];
    if constexpr (HasBias)
      v += bias[i];
    y[i] = v;
  }
}

template <typename Delta>
inline void affineRowDispatch(float *y, const float *scale, const float *bias,
                              int64_t n, Delta delta) {
  if (scale && bias)
    affineRow<true, true>(y, scale, bias, n, delta);
  else if (scale)
    affineRow<true, false>(y, scale, bias, n, delta);
  else if (bias)
    affineRow<false, true>(y, scale, bias, n, delta);
  else
    affineRow<false, false>(y, scale, bias, n, delta);
}

} // namespace

void softmax(const TensorView &x, const TensorView &out, int64_t axis, bool log,
             ThreadPool &pool) {
  if (isHalfFloat(x.dtype)) { // in fp32, one rounding
    require(out.dtype == x.dtype, "softmax", "output must match the input");
    Widened wide = widenToF32(x, pool), result = f32Like(out);
    softmax(wide.view, result.view, axis, log, pool);
    return cast(result.view, out, pool);
  }
  if (x.dtype != DType::F32)
    unsupportedType("softmax", x.dtype);
  require(out.dtype == DType::F32 && out.shape == x.shape, "softmax",
          "output must match the input");
  require(axis >= 0 && axis < x.rank(), "softmax", "axis out of range");
  int64_t axisLen = x.shape[axis];
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[d];
  int64_t outer = axisLen * inner == 0 ? 0 : x.numel() / (axisLen * inner);
  const float *px = x.as<float>();
  float *po = out.as<float>();

  if (inner == 1) {
    pool.parallelFor(outer, rowGrainFor(axisLen), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        softmaxRow(px + r * axisLen, po + r * axisLen, axisLen, log);
    });
    return;
  }
  // Column blocks wide enough to vectorize, narrow enough to balance.
  constexpr int64_t kBlock = 256;
  int64_t blocks = (inner + kBlock - 1) / kBlock;
  int64_t grain = std::max<int64_t>(1, kGrainMedium / (axisLen * kBlock));
  pool.parallelFor(outer * blocks, grain, [&](int64_t u0, int64_t u1) {
    std::vector<float> maxBuf;
    std::vector<double> sumBuf;
    for (int64_t u = u0; u < u1; ++u) {
      int64_t o = u / blocks, c0 = (u % blocks) * kBlock;
      int64_t base = o * axisLen * inner;
      softmaxColumns(px + base, po + base, axisLen, inner, c0,
                     std::min(inner, c0 + kBlock), log, maxBuf, sumBuf);
    }
  });
}

void layerNorm(const TensorView &x, const TensorView &scale,
               const TensorView &bias, const TensorView &out,
               int64_t normalizedRank, float epsilon, ThreadPool &pool) {
  // Plain variables, not a structured binding: lambdas below capture them
  // (C++17 does not let lambdas capture bindings).
  const auto shape =
      normalizedRows("layerNorm", x, out, normalizedRank, {&scale, &bias});
  const int64_t rows = shape.first, n = shape.second;
  const F32Param s(scale, pool), b(bias, pool);
  const float *ps = s.data, *pb = b.data;
  auto normalize = [&](const float *xr, float *yr) {
    double mean = rowSum(xr, n) / n;
    double var = rowSumOf(xr, n,
                          [mean](auto v) {
                            auto d = v - mean;
                            return d * d;
                          }) /
                 n;
    double inv = 1.0 / std::sqrt(var + epsilon);
    // The centring runs in double: subtracting a float-rounded mean would
    // lose relative accuracy when |mean| >> stddev.
    affineRowDispatch(yr, ps, pb, n, [&](int64_t i) {
      return static_cast<float>((static_cast<double>(xr[i]) - mean) * inv);
    });
  };
  pool.parallelFor(rows, rowGrainFor(n), [&](int64_t r0, int64_t r1) {
    forRowsAsF32(x, out, n, r0, r1, normalize);
  });
}

void rmsNorm(const TensorView &x, const TensorView &scale,
             const TensorView &out, int64_t normalizedRank, float epsilon,
             ThreadPool &pool) {
  const auto shape =
      normalizedRows("rmsNorm", x, out, normalizedRank, {&scale});
  const int64_t rows = shape.first, n = shape.second;
  const F32Param s(scale, pool);
  const float *ps = s.data;
  auto normalize = [&](const float *xr, float *yr) {
    double meanSquare = rowSumOf(xr, n, [](auto v) { return v * v; }) / n;
    float inv = static_cast<float>(1.0 / std::sqrt(meanSquare + epsilon));
    affineRowDispatch(yr, ps, nullptr, n,
                      [&](int64_t i) { return xr[i] * inv; });
  };
  pool.parallelFor(rows, rowGrainFor(n), [&](int64_t r0, int64_t r1) {
    forRowsAsF32(x, out, n, r0, r1, normalize);
  });
}

} // namespace accel::rt::cpu
