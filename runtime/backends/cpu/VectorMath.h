//===- VectorMath.h - Vector transcendentals and row reductions -*- C++ -*-===//
//
// exp, sigmoid, tanh and tanh-GELU on 8-lane vectors (libm calls do not
// vectorize without -ffast-math), and vectorized row max and sums. Accuracy
// is a few ulp, well inside the 1e-6 relative the kernels promise. Internal
// to the CPU backend.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_BACKENDS_CPU_VECTORMATH_H
#define ACCEL_RUNTIME_BACKENDS_CPU_VECTORMATH_H

#include <cstdint>
#include <cstring>

namespace accel::rt::cpu::detail {

/// Bit casts (C++17 has no std::bit_cast).
inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline uint32_t floatToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

//===----------------------------------------------------------------------===//
// Vector types
//
// GCC/Clang vector extensions: explicit 8-lane code that compiles to AVX2
// whatever the flags. (Written as scalar code, exp's clamps get
// jump-threaded into branches that GCC's default -ftrapping-math then will
// not if-convert, and the loops stay scalar.)
//===----------------------------------------------------------------------===//

typedef float Float4 __attribute__((vector_size(16)));
typedef float Float8 __attribute__((vector_size(32)));
typedef double Double4 __attribute__((vector_size(32)));
typedef int32_t Int4 __attribute__((vector_size(16)));
typedef int32_t Int8 __attribute__((vector_size(32)));

inline Float8 load8(const float *p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store8(float *p, Float8 v) { std::memcpy(p, &v, sizeof v); }

inline Float8 splat8(float v) { return Float8{} + v; }

inline Double4 widenLow(Float8 v) {
  return __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3),
                                 Double4);
}

inline Double4 widenHigh(Float8 v) {
  return __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7),
                                 Double4);
}

inline Float8 narrow(Double4 lo, Double4 hi) {
  return __builtin_shufflevector(__builtin_convertvector(lo, Float4),
                                 __builtin_convertvector(hi, Float4), 0, 1, 2,
                                 3, 4, 5, 6, 7);
}

/// dst[i] = f(src[i]) for f on Float8; the tail runs on a zero-padded copy.
/// dst may equal src.
template <typename F>
inline void mapFloat8(const float *src, float *dst, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    store8(dst + i, f(load8(src + i)));
  if (i < n) {
    Float8 v = {};
    std::memcpy(&v, src + i, (n - i) * sizeof(float));
    v = f(v);
    std::memcpy(dst + i, &v, (n - i) * sizeof(float));
  }
}

//===----------------------------------------------------------------------===//
// Transcendentals
//===----------------------------------------------------------------------===//

/// p * 2^n for n in [-150, 128], applied as two normal factors so the
/// product can overflow to inf or underflow into subnormals gracefully.
inline Float8 scaleByPow2(Float8 p, Int8 n) {
  Int8 n1 = n >> 1;
  Int8 n2 = n - n1;
  return p * reinterpret_cast<Float8>((n1 + 127) << 23) *
         reinterpret_cast<Float8>((n2 + 127) << 23);
}

/// e^r for |r| <= ln2/2 + tiny: degree-7 Taylor polynomial, truncation
/// error < 6e-9 relative.
inline Float8 expPolynomial(Float8 r) {
  Float8 p = splat8(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  return p * r + 1.0f;
}

/// e^x. Writes x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts so r
/// is nearly exact); n is read from the mantissa of x log2e + 1.5 * 2^23,
/// whose addition rounds it to an integer. NaN propagates through the
/// polynomial; the clamps give inf and 0 beyond the float range.
inline Float8 expVec(Float8 x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f; // few mantissa bits: n*kLn2Hi exact
  const float kLn2Lo = 1.42860682030941723e-6f;
  const float kRound = 12582912.0f; // 1.5 * 2^23
  Float8 xc = x < -104.0f ? splat8(-104.0f) : x;
  xc = xc > 89.0f ? splat8(89.0f) : xc;
  Float8 t = xc * kLog2e + kRound;
  Float8 n = t - kRound;
  Float8 r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  Int8 ni = reinterpret_cast<Int8>(t) - reinterpret_cast<Int8>(splat8(kRound));
  return scaleByPow2(expPolynomial(r), ni);
}

/// e^x for an argument computed in double (lanes 0-3 in lo, 4-7 in hi).
/// Rounding a large argument to float first would cost |x| * 6e-8 relative
/// accuracy, so the range reduction runs in double.
inline Float8 expWideVec(Double4 lo, Double4 hi) {
  const double kLog2e = 1.4426950408889634;
  const double kLn2 = 0.6931471805599453;
  const double kRound = 6755399441055744.0; // 1.5 * 2^52
  auto reduce = [&](Double4 x, Double4 &r) {
    Double4 xc = x != x ? Double4{} : x; // NaN is restored at the end
    xc = xc < -104.0 ? Double4{} - 104.0 : xc;
    xc = xc > 89.0 ? Double4{} + 89.0 : xc;
    Double4 n = (xc * kLog2e + kRound) - kRound;
    r = xc - n * kLn2;
    return __builtin_convertvector(n, Int4);
  };
  Double4 rLo, rHi;
  Int4 nLo = reduce(lo, rLo), nHi = reduce(hi, rHi);
  Int8 n = __builtin_shufflevector(nLo, nHi, 0, 1, 2, 3, 4, 5, 6, 7);
  Float8 p = expPolynomial(narrow(rLo, rHi));
  Float8 result = scaleByPow2(p, n);
  Float8 arg = narrow(lo, hi);
  return arg != arg ? arg : result;
}

/// 1 / (1 + e^-x), as e^x / (1 + e^x) for negative x so the result keeps
/// full precision down to the subnormal range instead of e^-x overflowing.
inline Float8 sigmoidVec(Float8 x) {
  Float8 e = expVec(x < 0.0f ? x : -x);
  return (x < 0.0f ? e : splat8(1.0f)) / (1.0f + e);
}

/// sigmoidVec of an argument computed in double (see expWideVec).
inline Float8 sigmoidWideVec(Double4 lo, Double4 hi) {
  Double4 negAbsLo = lo < 0.0 ? lo : -lo, negAbsHi = hi < 0.0 ? hi : -hi;
  Float8 e = expWideVec(negAbsLo, negAbsHi);
  Float8 x = narrow(lo, hi);
  return (x < 0.0f ? e : splat8(1.0f)) / (1.0f + e);
}

/// tanh(x). Near 0 (|x| < 0.5) its odd Taylor series to x^15 (error < 1e-8
/// relative); elsewhere 1 - 2 / (e^2|x| + 1), which has no cancellation
/// there.
inline Float8 tanhVec(Float8 x) {
  Float8 ax = x < 0.0f ? -x : x;
  Float8 x2 = x * x;
  Float8 p = splat8(-929569.0f / 638512875.0f);
  p = p * x2 + 21844.0f / 6081075.0f;
  p = p * x2 + -1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 + -17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 + -1.0f / 3.0f;
  Float8 small = x + x * x2 * p;
  Float8 large = 1.0f - 2.0f / (expVec(2.0f * ax) + 1.0f);
  large = x < 0.0f ? -large : large;
  return ax < 0.5f ? small : large;
}

/// x * sigmoid(1.5957691216 (x + 0.044715 x^3)), which equals the tanh form
/// 0.5 x (1 + tanh(u)) without its cancellation; u is formed in double as
/// the exponential magnifies its rounding in the tails.
inline Float8 geluTanhVec(Float8 x) {
  auto twoU = [](Double4 v) {
    return 1.5957691216057307 * (v + 0.044715 * v * v * v);
  };
  return x * sigmoidWideVec(twoU(widenLow(x)), twoU(widenHigh(x)));
}

//===----------------------------------------------------------------------===//
// Row reductions
//
// Written with GCC/Clang vector extensions: without -ffast-math compilers
// must keep a scalar reduction's order and so never vectorize it. Sums
// accumulate in double, which keeps them accurate to ~1e-7 relative for any
// row length at little cost (rows are short and sit in L1).
//===----------------------------------------------------------------------===//

inline Double4 load4d(const float *p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Double4);
}

inline double horizontalSum(Double4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/// max(x[0..n)) (IsMax) or min(x[0..n)), NaN when some x[i] is NaN (as
/// torch.amax/amin and every softmax built on them: a NaN is never
/// skipped); -inf (+inf for the min) when n == 0.
template <bool IsMax> inline float rowExtreme(const float *x, int64_t n) {
  const float kStart = IsMax ? -__builtin_inff() : __builtin_inff();
  // Takes the new value when it is further out or NaN; a NaN kept stays.
  auto pick = [](auto m, auto v) {
    return (IsMax ? m < v : v < m) | (v != v) ? v : m;
  };
  Float8 m0 = {kStart, kStart, kStart, kStart, kStart, kStart, kStart, kStart};
  Float8 m1 = m0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = pick(m0, load8(x + i));
    m1 = pick(m1, load8(x + i + 8));
  }
  m0 = pick(m0, m1);
  float m = kStart;
  for (int k = 0; k < 8; ++k)
    m = pick(m, m0[k]);
  for (; i < n; ++i)
    m = pick(m, x[i]);
  return m;
}

inline float rowMax(const float *x, int64_t n) { return rowExtreme<true>(x, n); }
inline float rowMin(const float *x, int64_t n) { return rowExtreme<false>(x, n); }

/// Sum of f(x[i]) over [0, n), in double; f maps Double4 to Double4 and
/// double to double.
template <typename F> inline double rowSumOf(const float *x, int64_t n, F f) {
  Double4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 += f(load4d(x + i));
    s1 += f(load4d(x + i + 4));
    s2 += f(load4d(x + i + 8));
    s3 += f(load4d(x + i + 12));
  }
  double s = horizontalSum((s0 + s1) + (s2 + s3));
  for (; i < n; ++i)
    s += f(static_cast<double>(x[i]));
  return s;
}

inline double rowSum(const float *x, int64_t n) {
  return rowSumOf(x, n, [](auto v) { return v; });
}

} // namespace accel::rt::cpu::detail

#endif // ACCEL_RUNTIME_BACKENDS_CPU_VECTORMATH_H
