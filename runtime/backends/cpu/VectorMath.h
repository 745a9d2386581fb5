//===- VectorMath.h - Vectorizable float transcendentals --------*- C++ -*-===//
//
// exp, tanh and sigmoid written as branch-free scalar code so that loops
// calling them auto-vectorize (libm calls do not without -ffast-math), and
// vectorized row reductions. Accuracy is a few ulp, well inside the 1e-6
// relative the kernels promise. Internal to the CPU backend.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_BACKENDS_CPU_VECTORMATH_H
#define ACCEL_RUNTIME_BACKENDS_CPU_VECTORMATH_H

#include <cstdint>
#include <cstring>

namespace accel::rt::cpu::detail {

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

/// e^x. Writes x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts so r
/// is nearly exact) and evaluates e^r by its degree-7 Taylor polynomial
/// (truncation error < 6e-9 relative). 2^n is applied as two factors so the
/// result can overflow to inf or underflow into subnormals gracefully.
inline float fastExp(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f; // few mantissa bits: n*kLn2Hi exact
  const float kLn2Lo = 1.42860682030941723e-6f;
  const float kRound = 12582912.0f; // 1.5 * 2^23: adding it rounds to integer
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 89.0f ? 89.0f : xc;
  float n = (xc * kLog2e + kRound) - kRound;
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t ni = static_cast<int32_t>(n);
  int32_t n1 = ni >> 1;
  int32_t n2 = ni - n1;
  float s1 = bitsToFloat(static_cast<uint32_t>(n1 + 127) << 23);
  float s2 = bitsToFloat(static_cast<uint32_t>(n2 + 127) << 23);
  float result = p * s1 * s2;
  return x != x ? x : result; // NaN in, NaN out
}

/// 1 / (1 + e^-x); exact limits 0 and 1 for large |x|.
inline float fastSigmoid(float x) { return 1.0f / (1.0f + fastExp(-x)); }

/// tanh(x). Near 0 (|x| < 0.5) its odd Taylor series to x^15 (error < 1e-8
/// relative); elsewhere 1 - 2 / (e^2|x| + 1), which has no cancellation
/// there.
inline float fastTanh(float x) {
  float ax = x < 0.0f ? -x : x;
  float x2 = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * x2 + 21844.0f / 6081075.0f;
  p = p * x2 + -1382.0f / 155925.0f;
  p = p * x2 + 62.0f / 2835.0f;
  p = p * x2 + -17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 + -1.0f / 3.0f;
  float small = x + x * x2 * p;
  float large = 1.0f - 2.0f / (fastExp(2.0f * ax) + 1.0f);
  large = x < 0.0f ? -large : large;
  return ax < 0.5f ? small : large;
}

//===----------------------------------------------------------------------===//
// Row reductions
//
// Written with GCC/Clang vector extensions: without -ffast-math compilers
// must keep a scalar reduction's order and so never vectorize it. Sums
// accumulate in double, which keeps them accurate to ~1e-7 relative for any
// row length at little cost (rows are short and sit in L1).
//===----------------------------------------------------------------------===//

typedef float Float4 __attribute__((vector_size(16)));
typedef float Float8 __attribute__((vector_size(32)));
typedef double Double4 __attribute__((vector_size(32)));

inline Float8 load8(const float *p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline Double4 load4d(const float *p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, Double4);
}

inline double horizontalSum(Double4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/// max(x[0..n)); -inf for n == 0.
inline float rowMax(const float *x, int64_t n) {
  const float kNegInf = -__builtin_inff();
  Float8 m0 = {kNegInf, kNegInf, kNegInf, kNegInf,
               kNegInf, kNegInf, kNegInf, kNegInf};
  Float8 m1 = m0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Float8 a = load8(x + i), b = load8(x + i + 8);
    m0 = m0 < a ? a : m0;
    m1 = m1 < b ? b : m1;
  }
  m0 = m0 < m1 ? m1 : m0;
  float m = kNegInf;
  for (int k = 0; k < 8; ++k)
    m = m < m0[k] ? m0[k] : m;
  for (; i < n; ++i)
    m = m < x[i] ? x[i] : m;
  return m;
}

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
