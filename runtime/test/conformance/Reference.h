//===- Reference.h - Naive reference kernels for conformance tests -*- C++
//-*-===//
//
// Host tensors, random inputs and straightforward reference implementations
// of every kernel family, computed in double (or int64) by direct index
// arithmetic. Nothing here depends on a backend: the same references check
// the CPU kernels and any later backend.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_TEST_CONFORMANCE_REFERENCE_H
#define ACCEL_RUNTIME_TEST_CONFORMANCE_REFERENCE_H

#include "accel/runtime/Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace accel::rt::conformance {

//===----------------------------------------------------------------------===//
// Host tensors
//===----------------------------------------------------------------------===//

/// A tensor owning its bytes, zero-initialized.
struct HostTensor {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<uint8_t> storage;

  HostTensor() = default;
  HostTensor(DType t, Shape s)
      : dtype(t), shape(std::move(s)),
        storage(static_cast<size_t>(numElements(shape)) * dtypeSize(t)) {}

  int64_t numel() const { return numElements(shape); }
  template <typename T> T *data() {
    return reinterpret_cast<T *>(storage.data());
  }
  template <typename T> const T *data() const {
    return reinterpret_cast<const T *>(storage.data());
  }
  template <typename T> std::vector<T> values() const {
    return std::vector<T>(data<T>(), data<T>() + numel());
  }
  /// A view for the kernels; inputs are never written through it.
  TensorView view() const {
    return {const_cast<uint8_t *>(storage.data()), dtype, shape};
  }
};

template <typename T>
HostTensor makeTensor(DType t, const Shape &s, const std::vector<T> &v) {
  HostTensor h(t, s);
  EXPECT_EQ(static_cast<int64_t>(v.size()), h.numel());
  EXPECT_EQ(sizeof(T), dtypeSize(t));
  std::memcpy(h.storage.data(), v.data(), h.storage.size());
  return h;
}

/// The view kernels take for an absent optional operand.
inline TensorView noTensor() { return TensorView{}; }

inline HostTensor randomF32(const Shape &s, std::mt19937_64 &rng,
                            float lo = -1.0f, float hi = 1.0f) {
  HostTensor h(DType::F32, s);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < h.numel(); ++i)
    h.data<float>()[i] = dist(rng);
  return h;
}

inline HostTensor randomInt(DType t, const Shape &s, std::mt19937_64 &rng,
                            int64_t lo, int64_t hi) {
  HostTensor h(t, s);
  std::uniform_int_distribution<int64_t> dist(lo, hi);
  for (int64_t i = 0; i < h.numel(); ++i) {
    int64_t v = dist(rng);
    if (t == DType::I64)
      h.data<int64_t>()[i] = v;
    else
      h.data<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return h;
}

inline HostTensor randomBool(const Shape &s, std::mt19937_64 &rng,
                             double pTrue = 0.5) {
  HostTensor h(DType::Bool, s);
  std::bernoulli_distribution dist(pTrue);
  for (int64_t i = 0; i < h.numel(); ++i)
    h.data<uint8_t>()[i] = dist(rng);
  return h;
}

//===----------------------------------------------------------------------===//
// 16-bit floats, by exhaustive table rather than bit tricks
//===----------------------------------------------------------------------===//

/// Value of a binary16 (ExpBits = 5) or bfloat16 (ExpBits = 8) bit pattern.
inline double decodeSmallFloat(uint16_t bits, int expBits) {
  int mantBits = 15 - expBits;
  int bias = (1 << (expBits - 1)) - 1;
  int e = (bits >> mantBits) & ((1 << expBits) - 1);
  int m = bits & ((1 << mantBits) - 1);
  double sign = (bits & 0x8000) ? -1.0 : 1.0;
  if (e == (1 << expBits) - 1)
    return m ? std::numeric_limits<double>::quiet_NaN()
             : sign * std::numeric_limits<double>::infinity();
  if (e == 0)
    return sign * std::ldexp(m, 1 - bias - mantBits);
  return sign * std::ldexp((1 << mantBits) + m, e - bias - mantBits);
}

/// Round-to-nearest-even into a 16-bit float format by searching the sorted
/// table of all its non-negative finite values, with inf standing in as the
/// next power of two (so values past max + ulp/2 round to it).
inline uint16_t encodeSmallFloatReference(long double v, int expBits) {
  struct Table {
    std::vector<double> values; // index == bit pattern for non-negatives
  };
  static Table tables[2];
  Table &t = tables[expBits == 8];
  int mantBits = 15 - expBits;
  uint16_t infBits = static_cast<uint16_t>(((1 << expBits) - 1) << mantBits);
  if (t.values.empty()) {
    for (uint32_t b = 0; b < infBits; ++b)
      t.values.push_back(decodeSmallFloat(static_cast<uint16_t>(b), expBits));
    int bias = (1 << (expBits - 1)) - 1;
    t.values.push_back(std::ldexp(1.0, bias + 1));
  }
  uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  if (std::isnan(v))
    return static_cast<uint16_t>(infBits | (1 << (mantBits - 1)));
  long double a = std::fabs(v);
  if (a >= t.values.back())
    return sign | infBits;
  auto it = std::lower_bound(t.values.begin(), t.values.end(), a);
  size_t hi = it - t.values.begin();
  if (t.values[hi] == a)
    return static_cast<uint16_t>(sign | hi);
  size_t lo = hi - 1;
  long double dLo = a - t.values[lo], dHi = t.values[hi] - a;
  size_t pick = dLo < dHi ? lo : dHi < dLo ? hi : ((lo & 1) ? hi : lo);
  return static_cast<uint16_t>(sign | pick);
}

/// An fp32 tensor rounded to bf16 (to nearest even).
/// An fp32 tensor rounded to bf16 or fp16 (the reference rounding).
inline HostTensor toHalf(const HostTensor &t, DType type) {
  HostTensor h(type, t.shape);
  int expBits = type == DType::BF16 ? 8 : 5;
  for (int64_t i = 0; i < t.numel(); ++i)
    h.data<uint16_t>()[i] =
        encodeSmallFloatReference(t.data<float>()[i], expBits);
  return h;
}
inline HostTensor toBf16(const HostTensor &t) { return toHalf(t, DType::BF16); }

//===----------------------------------------------------------------------===//
// Element access as double
//===----------------------------------------------------------------------===//

inline double elementAsDouble(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::F32:
    return t.data<float>()[i];
  case DType::F64:
    return t.data<double>()[i];
  case DType::F16:
    return decodeSmallFloat(t.data<uint16_t>()[i], 5);
  case DType::BF16:
    return decodeSmallFloat(t.data<uint16_t>()[i], 8);
  case DType::I64:
    return static_cast<double>(t.data<int64_t>()[i]);
  case DType::I32:
    return t.data<int32_t>()[i];
  case DType::I16:
    return t.data<int16_t>()[i];
  case DType::I8:
    return t.data<int8_t>()[i];
  case DType::U8:
    return t.data<uint8_t>()[i];
  case DType::Bool:
    return t.data<uint8_t>()[i] != 0;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

/// A bf16 or fp16 tensor's values as fp32 (exact).
inline HostTensor toF32(const HostTensor &t) {
  HostTensor wide(DType::F32, t.shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    wide.data<float>()[i] = static_cast<float>(elementAsDouble(t, i));
  return wide;
}

inline std::vector<double> toDoubles(const HostTensor &t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = elementAsDouble(t, i);
  return v;
}

//===----------------------------------------------------------------------===//
// Index arithmetic
//===----------------------------------------------------------------------===//

inline std::vector<int64_t> unravel(int64_t flat, const Shape &shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

inline int64_t ravel(const std::vector<int64_t> &idx, const Shape &shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + idx[d];
  return flat;
}

/// Flat index into `in` of output index `outIdx` under NumPy broadcasting.
inline int64_t broadcastSource(const std::vector<int64_t> &outIdx,
                               const Shape &in) {
  size_t offset = outIdx.size() - in.size();
  int64_t flat = 0;
  for (size_t d = 0; d < in.size(); ++d)
    flat = flat * in[d] + (in[d] == 1 ? 0 : outIdx[d + offset]);
  return flat;
}

inline Shape broadcastShapes(const Shape &a, const Shape &b) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// out[i] = fn(a[bcast], b[bcast]) over the broadcast shape.
template <typename T, typename R, typename Fn>
std::vector<R> broadcastApply(const std::vector<T> &a, const Shape &as,
                              const std::vector<T> &b, const Shape &bs, Fn fn) {
  Shape os = broadcastShapes(as, bs);
  std::vector<R> out(numElements(os));
  for (int64_t i = 0; i < numElements(os); ++i) {
    auto idx = unravel(i, os);
    out[i] = fn(a[broadcastSource(idx, as)], b[broadcastSource(idx, bs)]);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

/// Checks |actual - expected| <= atol + rtol |expected| elementwise (NaN
/// matches NaN, infinities must match exactly); reports the first few
/// mismatches.
inline void expectClose(const std::vector<double> &actual,
                        const std::vector<double> &expected, double rtol = 1e-5,
                        double atol = 1e-6, const std::string &what = "") {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  int reported = 0, bad = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    double a = actual[i], e = expected[i];
    bool ok;
    if (std::isnan(e))
      ok = std::isnan(a);
    else if (std::isinf(e))
      ok = a == e;
    else
      ok = std::fabs(a - e) <= atol + rtol * std::fabs(e);
    if (!ok) {
      ++bad;
      if (reported++ < 5)
        ADD_FAILURE() << what << " element " << i << ": got " << a
                      << ", expected " << e;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << actual.size()
                    << " elements differ";
}

inline void expectClose(const HostTensor &actual,
                        const std::vector<double> &expected, double rtol = 1e-5,
                        double atol = 1e-6, const std::string &what = "") {
  expectClose(toDoubles(actual), expected, rtol, atol, what);
}

//===----------------------------------------------------------------------===//
// Reference kernels
//===----------------------------------------------------------------------===//

/// Batched a @ b with broadcast batch dims; also returns, per output
/// element, sum |a_ik b_kj|, the scale of its rounding error.
inline std::vector<double> refMatmul(const HostTensor &a, const HostTensor &b,
                                     bool transA, bool transB, Shape &outShape,
                                     std::vector<double> &magnitude) {
  auto av = toDoubles(a), bv = toDoubles(b);
  size_t ra = a.shape.size(), rb = b.shape.size();
  int64_t m = a.shape[ra - (transA ? 1 : 2)],
          k = a.shape[ra - (transA ? 2 : 1)];
  int64_t n = b.shape[rb - (transB ? 2 : 1)];
  Shape aBatch(a.shape.begin(), a.shape.end() - 2);
  Shape bBatch(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcastShapes(aBatch, bBatch);
  outShape = batch;
  outShape.push_back(m);
  outShape.push_back(n);
  std::vector<double> out(numElements(outShape));
  magnitude.assign(out.size(), 0.0);
  for (int64_t bi = 0; bi < numElements(batch); ++bi) {
    auto idx = unravel(bi, batch);
    int64_t ao = broadcastSource(idx, aBatch) * m * k;
    int64_t bo = broadcastSource(idx, bBatch) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          double x = av[ao + (transA ? p * m + i : i * k + p)];
          double y = bv[bo + (transB ? j * k + p : p * n + j)];
          s += x * y;
          mag += std::fabs(x * y);
        }
        out[(bi * m + i) * n + j] = s;
        magnitude[(bi * m + i) * n + j] = mag;
      }
  }
  return out;
}

inline std::vector<double> refSoftmax(const std::vector<double> &x,
                                      const Shape &shape, int64_t axis,
                                      bool log) {
  int64_t len = shape[axis], inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d)
    inner *= shape[d];
  int64_t outer = numElements(shape) / (len * inner);
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < inner; ++c) {
      auto at = [&](int64_t a) { return (o * len + a) * inner + c; };
      double mx = -INFINITY, sum = 0;
      for (int64_t a = 0; a < len; ++a)
        mx = std::max(mx, x[at(a)]);
      for (int64_t a = 0; a < len; ++a)
        sum += std::exp(x[at(a)] - mx);
      for (int64_t a = 0; a < len; ++a)
        y[at(a)] =
            log ? x[at(a)] - mx - std::log(sum) : std::exp(x[at(a)] - mx) / sum;
    }
  return y;
}

/// Layer norm (rms == false) or RMS norm over rows of length n; scale and
/// bias may be empty.
inline std::vector<double> refNorm(const std::vector<double> &x, int64_t n,
                                   const std::vector<double> &scale,
                                   const std::vector<double> &bias, double eps,
                                   bool rms) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    const double *row = x.data() + r * n;
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i)
        mean += row[i];
      mean /= n;
    }
    for (int64_t i = 0; i < n; ++i)
      var += (row[i] - mean) * (row[i] - mean);
    var /= n;
    for (int64_t i = 0; i < n; ++i) {
      double v = (row[i] - mean) / std::sqrt(var + eps);
      if (!scale.empty())
        v *= scale[i];
      if (!bias.empty())
        v += bias[i];
      y[r * n + i] = v;
    }
  }
  return y;
}

/// Attention's probabilities for row i of (batch, head) pair p of one
/// layout [B, H, S, D]: mask (empty when absent) is either bool (keep) or
/// additive, already broadcast to [B, H, Sq, Sk]. A fully masked row is
/// zeros.
inline std::vector<double>
refAttentionRow(const std::vector<double> &qv, const std::vector<double> &kv,
                int64_t p, int64_t i, int64_t sq, int64_t sk, int64_t d,
                const std::vector<double> &mask, bool boolMask, bool causal,
                double scale) {
  std::vector<double> s(sk);
  for (int64_t j = 0; j < sk; ++j) {
    double dot = 0;
    for (int64_t c = 0; c < d; ++c)
      dot += qv[(p * sq + i) * d + c] * kv[(p * sk + j) * d + c];
    s[j] = dot * scale;
    bool keep = true;
    if (!mask.empty()) {
      double m = mask[(p * sq + i) * sk + j];
      if (boolMask)
        keep = m != 0;
      else
        s[j] += m;
    }
    if ((causal && j > i + (sk - sq)) || !keep)
      s[j] = -INFINITY;
  }
  double mx = -INFINITY;
  for (double x : s)
    mx = std::max(mx, x);
  if (mx == -INFINITY)
    return std::vector<double>(sk, 0.0);
  double sum = 0;
  for (double x : s)
    sum += std::exp(x - mx);
  for (double &x : s)
    x = std::exp(x - mx) / sum;
  return s;
}

/// Attention for one layout [B, H, S, D] (mask as refAttentionRow's).
inline std::vector<double>
refAttention(const HostTensor &q, const HostTensor &k, const HostTensor &v,
             const std::vector<double> &mask, bool boolMask, bool causal,
             double scale) {
  auto qv = toDoubles(q), kv = toDoubles(k), vv = toDoubles(v);
  int64_t bh = q.shape[0] * q.shape[1], sq = q.shape[2], d = q.shape[3];
  int64_t sk = k.shape[2], dv = v.shape[3];
  std::vector<double> out(bh * sq * dv, 0.0);
  for (int64_t p = 0; p < bh; ++p)
    for (int64_t i = 0; i < sq; ++i) {
      auto w = refAttentionRow(qv, kv, p, i, sq, sk, d, mask, boolMask, causal,
                               scale);
      for (int64_t j = 0; j < sk; ++j)
        for (int64_t c = 0; c < dv; ++c)
          out[(p * sq + i) * dv + c] += w[j] * vv[(p * sk + j) * dv + c];
    }
  return out;
}

/// Attention's gradients dq, dk, dv for the result's cotangent g.
struct AttentionGrads {
  std::vector<double> dq, dk, dv;
};
inline AttentionGrads refAttentionGrad(const HostTensor &q, const HostTensor &k,
                                       const HostTensor &v, const HostTensor &g,
                                       const std::vector<double> &mask,
                                       bool boolMask, bool causal,
                                       double scale) {
  auto qv = toDoubles(q), kv = toDoubles(k), vv = toDoubles(v),
       gv = toDoubles(g);
  int64_t bh = q.shape[0] * q.shape[1], sq = q.shape[2], d = q.shape[3];
  int64_t sk = k.shape[2], dv = v.shape[3];
  AttentionGrads r{std::vector<double>(qv.size(), 0.0),
                   std::vector<double>(kv.size(), 0.0),
                   std::vector<double>(vv.size(), 0.0)};
  for (int64_t p = 0; p < bh; ++p)
    for (int64_t i = 0; i < sq; ++i) {
      auto w = refAttentionRow(qv, kv, p, i, sq, sk, d, mask, boolMask, causal,
                               scale);
      const double *gi = &gv[(p * sq + i) * dv];
      std::vector<double> dp(sk, 0.0);
      double dot = 0;
      for (int64_t j = 0; j < sk; ++j) {
        for (int64_t c = 0; c < dv; ++c)
          dp[j] += gi[c] * vv[(p * sk + j) * dv + c];
        dot += dp[j] * w[j];
      }
      for (int64_t j = 0; j < sk; ++j) {
        double ds = w[j] * (dp[j] - dot) * scale;
        for (int64_t c = 0; c < d; ++c) {
          r.dq[(p * sq + i) * d + c] += ds * kv[(p * sk + j) * d + c];
          r.dk[(p * sk + j) * d + c] += ds * qv[(p * sq + i) * d + c];
        }
        for (int64_t c = 0; c < dv; ++c)
          r.dv[(p * sk + j) * dv + c] += w[j] * gi[c];
      }
    }
  return r;
}

/// Copies element bytes: out[i] = in[source(i)] for every output index.
template <typename SourceFn>
HostTensor refMove(const HostTensor &in, const Shape &outShape,
                   SourceFn source) {
  HostTensor out(in.dtype, outShape);
  size_t elem = dtypeSize(in.dtype);
  for (int64_t i = 0; i < out.numel(); ++i)
    std::memcpy(out.storage.data() + i * elem,
                in.storage.data() + source(unravel(i, outShape)) * elem, elem);
  return out;
}

} // namespace accel::rt::conformance

#endif // ACCEL_RUNTIME_TEST_CONFORMANCE_REFERENCE_H
