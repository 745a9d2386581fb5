//===- Elementwise.cpp - Binary, unary, compare, where and cast kernels ---===//
//
// Broadcasting elementwise kernels. Operands are walked with a collapsed
// LoopNest, so same-shape operands run one flat loop and scalar, row or
// column broadcasts run long innermost loops whose operand strides (0 or 1)
// are template parameters the compiler vectorizes for. The output's flat
// index range is split over the thread pool.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"
#include "VectorMath.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace accel::rt::cpu {

using namespace detail;

namespace {

//===----------------------------------------------------------------------===//
// Broadcast loops
//===----------------------------------------------------------------------===//

/// out[i] = op(a[i * SA], b[i * SB]) over one run; SA and SB are 0 or 1.
template <int SA, int SB, typename In, typename Out, typename Op>
inline void binaryRun(const In *__restrict a, const In *__restrict b,
                      Out *__restrict o, int64_t len, Op op) {
  if constexpr (SA == 0 && SB == 0) {
    Out v = op(a[0], b[0]);
    for (int64_t i = 0; i < len; ++i)
      o[i] = v;
  } else if constexpr (SA == 0) {
    In av = a[0];
    for (int64_t i = 0; i < len; ++i)
      o[i] = op(av, b[i]);
  } else if constexpr (SB == 0) {
    In bv = b[0];
    for (int64_t i = 0; i < len; ++i)
      o[i] = op(a[i], bv);
  } else {
    for (int64_t i = 0; i < len; ++i)
      o[i] = op(a[i], b[i]);
  }
}

/// Applies op to broadcast operands a and b, writing out (types In, In ->
/// Out). Operands with contiguous input never have inner strides other than
/// 0 or 1 after collapsing.
template <typename In, typename Out, typename Op>
void runBinary(const char *kernel, const TensorView &a, const TensorView &b,
               const TensorView &out, int64_t grain, ThreadPool &pool, Op op) {
  LoopNest nest(out.shape, {broadcastStrides(kernel, a.shape, out.shape),
                            broadcastStrides(kernel, b.shape, out.shape)});
  const In *pa = a.as<In>();
  const In *pb = b.as<In>();
  Out *po = out.as<Out>();
  bool sa = nest.innerStride(0) != 0, sb = nest.innerStride(1) != 0;
  pool.parallelFor(nest.numel(), grain, [&](int64_t begin, int64_t end) {
    nest.forEachRun(begin, end, [&](int64_t pos, const auto &off, int64_t len) {
      const In *x = pa + off[0];
      const In *y = pb + off[1];
      Out *o = po + pos;
      if (sa && sb)
        binaryRun<1, 1>(x, y, o, len, op);
      else if (sa)
        binaryRun<1, 0>(x, y, o, len, op);
      else if (sb)
        binaryRun<0, 1>(x, y, o, len, op);
      else
        binaryRun<0, 0>(x, y, o, len, op);
    });
  });
}

//===----------------------------------------------------------------------===//
// Binary
//===----------------------------------------------------------------------===//

/// Signed integer add/sub/mul wrap around (two's complement) instead of
/// overflowing into undefined behaviour.
template <typename T> T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T> T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
template <typename T> T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

/// Integer division truncates toward zero (C semantics); MIN / -1 wraps.
template <typename T> T intDiv(T a, T b) {
  if (b == 0)
    fail("binary", "integer division by zero");
  if (b == -1)
    return wrapSub<T>(0, a);
  return a / b;
}

/// Integer modulo takes the sign of the divisor (Python, NumPy and ONNX Mod
/// with fmod=0); float modulo is std::fmod, the sign of the dividend (ONNX
/// Mod with fmod=1, which ONNX requires for floats).
template <typename T> T intMod(T a, T b) {
  if (b == 0)
    fail("binary", "integer modulo by zero");
  if (b == -1)
    return 0;
  T r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

void binaryF32(BinaryKind kind, const TensorView &a, const TensorView &b,
               const TensorView &out, ThreadPool &pool) {
  auto run = [&](int64_t grain, auto op) {
    runBinary<float, float>("binary", a, b, out, grain, pool, op);
  };
  switch (kind) {
  case BinaryKind::Add:
    return run(kGrainCheap, [](float x, float y) { return x + y; });
  case BinaryKind::Sub:
    return run(kGrainCheap, [](float x, float y) { return x - y; });
  case BinaryKind::Mul:
    return run(kGrainCheap, [](float x, float y) { return x * y; });
  case BinaryKind::Div:
    return run(kGrainCheap, [](float x, float y) { return x / y; });
  // torch.maximum/minimum: NaN when either operand is.
  case BinaryKind::Max:
    return run(kGrainCheap,
               [](float x, float y) { return x < y || y != y ? y : x; });
  case BinaryKind::Min:
    return run(kGrainCheap,
               [](float x, float y) { return y < x || y != y ? y : x; });
  case BinaryKind::Mod:
    return run(kGrainExpensive,
               [](float x, float y) { return std::fmod(x, y); });
  case BinaryKind::Pow:
    // Small integral scalar exponents (x^2 in variance, x^3 in GELU) are
    // plain products, which vectorize; std::pow does not.
    if (b.numel() == 1) {
      float e = *b.as<float>();
      if (e == 2.0f)
        return run(kGrainCheap, [](float x, float) { return x * x; });
      if (e == 3.0f)
        return run(kGrainCheap, [](float x, float) { return x * x * x; });
    }
    return run(kGrainExpensive,
               [](float x, float y) { return std::pow(x, y); });
  }
  fail("binary", "unknown op");
}

/// x ** y on integers by repeated squaring, wrapping like the other integer
/// ops. A negative exponent gives the real result truncated toward zero:
/// 1 and -1 keep their magnitude, every other base (and 0) gives 0.
template <typename T> T intPow(T x, T y) {
  if (y < 0)
    return x == 1 ? T(1) : x == -1 ? ((y & 1) ? T(-1) : T(1)) : T(0);
  T result = 1;
  while (y) {
    if (y & 1)
      result = wrapMul(result, x);
    x = wrapMul(x, x);
    y >>= 1;
  }
  return result;
}

template <typename T>
void binaryInt(BinaryKind kind, const TensorView &a, const TensorView &b,
               const TensorView &out, ThreadPool &pool) {
  auto run = [&](int64_t grain, auto op) {
    runBinary<T, T>("binary", a, b, out, grain, pool, op);
  };
  switch (kind) {
  case BinaryKind::Add:
    return run(kGrainCheap, [](T x, T y) { return wrapAdd(x, y); });
  case BinaryKind::Sub:
    return run(kGrainCheap, [](T x, T y) { return wrapSub(x, y); });
  case BinaryKind::Mul:
    return run(kGrainCheap, [](T x, T y) { return wrapMul(x, y); });
  case BinaryKind::Div:
    return run(kGrainMedium, [](T x, T y) { return intDiv(x, y); });
  case BinaryKind::Mod:
    return run(kGrainMedium, [](T x, T y) { return intMod(x, y); });
  case BinaryKind::Max:
    return run(kGrainCheap, [](T x, T y) { return x < y ? y : x; });
  case BinaryKind::Min:
    return run(kGrainCheap, [](T x, T y) { return y < x ? y : x; });
  case BinaryKind::Pow:
    return run(kGrainMedium, [](T x, T y) { return intPow(x, y); });
  }
  fail("binary", "unknown op");
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

template <typename T, typename Op>
void runUnary(const TensorView &x, const TensorView &out, int64_t grain,
              ThreadPool &pool, Op op) {
  const T *px = x.as<T>();
  T *po = out.as<T>();
  pool.parallelFor(x.numel(), grain, [&](int64_t begin, int64_t end) {
    const T *__restrict src = px;
    T *__restrict dst = po;
    for (int64_t i = begin; i < end; ++i)
      dst[i] = op(src[i]);
  });
}

/// Like runUnary for an op written on 8-lane vectors (VectorMath.h).
template <typename Op>
void runUnaryVec(const TensorView &x, const TensorView &out, ThreadPool &pool,
                 Op op) {
  const float *px = x.as<float>();
  float *po = out.as<float>();
  pool.parallelFor(x.numel(), kGrainMedium, [&](int64_t begin, int64_t end) {
    mapFloat8(px + begin, po + begin, end - begin, op);
  });
}

void unaryF32(UnaryKind kind, const TensorView &x, const TensorView &out,
              ThreadPool &pool) {
  auto run = [&](int64_t grain, auto op) {
    runUnary<float>(x, out, grain, pool, op);
  };
  switch (kind) {
  case UnaryKind::Neg:
    return run(kGrainCheap, [](float v) { return -v; });
  case UnaryKind::Abs:
    return run(kGrainCheap, [](float v) { return std::fabs(v); });
  case UnaryKind::Exp:
    return runUnaryVec(x, out, pool, [](Float8 v) { return expVec(v); });
  case UnaryKind::Log:
    return run(kGrainExpensive, [](float v) { return std::log(v); });
  case UnaryKind::Sqrt:
    return run(kGrainCheap, [](float v) { return std::sqrt(v); });
  case UnaryKind::Rsqrt:
    return run(kGrainCheap, [](float v) { return 1.0f / std::sqrt(v); });
  case UnaryKind::Reciprocal:
    return run(kGrainCheap, [](float v) { return 1.0f / v; });
  case UnaryKind::Tanh:
    return runUnaryVec(x, out, pool, [](Float8 v) { return tanhVec(v); });
  case UnaryKind::Erf:
    return run(kGrainExpensive, [](float v) { return std::erf(v); });
  case UnaryKind::Relu:
    return run(kGrainCheap, [](float v) { return v < 0.0f ? 0.0f : v; });
  case UnaryKind::Sigmoid:
    return runUnaryVec(x, out, pool, [](Float8 v) { return sigmoidVec(v); });
  case UnaryKind::Silu:
    return runUnaryVec(x, out, pool,
                       [](Float8 v) { return v * sigmoidVec(v); });
  case UnaryKind::GeluErf:
    // 1 + erf(z) == erfc(-z), which does not cancel in the negative tail;
    // z is formed in double because erfc there amplifies the relative error
    // of its argument by 2z^2.
    return run(kGrainExpensive, [](float v) {
      return static_cast<float>(0.5 * v * std::erfc(v * -0.70710678118654752));
    });
  case UnaryKind::GeluTanh:
    return runUnaryVec(x, out, pool, [](Float8 v) { return geluTanhVec(v); });
  case UnaryKind::Sin:
    return run(kGrainExpensive, [](float v) { return std::sin(v); });
  case UnaryKind::Cos:
    return run(kGrainExpensive, [](float v) { return std::cos(v); });
  case UnaryKind::Floor:
    return run(kGrainCheap, [](float v) { return std::floor(v); });
  case UnaryKind::Ceil:
    return run(kGrainCheap, [](float v) { return std::ceil(v); });
  case UnaryKind::Sign:
    // Zeros (with their sign) and NaN map to themselves.
    return run(kGrainCheap, [](float v) {
      return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v);
    });
  case UnaryKind::Not:
    fail("unary", "not expects bool, got f32");
  }
  fail("unary", "unknown op");
}

template <typename T>
void unaryInt(UnaryKind kind, const TensorView &x, const TensorView &out,
              ThreadPool &pool) {
  switch (kind) {
  case UnaryKind::Neg:
    return runUnary<T>(x, out, kGrainCheap, pool,
                       [](T v) { return wrapSub<T>(0, v); });
  case UnaryKind::Abs:
    return runUnary<T>(x, out, kGrainCheap, pool,
                       [](T v) { return v < 0 ? wrapSub<T>(0, v) : v; });
  default:
    fail("unary", std::string("op is not defined for ") + dtypeName(x.dtype));
  }
}

//===----------------------------------------------------------------------===//
// Compare and where
//===----------------------------------------------------------------------===//

template <typename T>
void compareTyped(CompareKind kind, const TensorView &a, const TensorView &b,
                  const TensorView &out, ThreadPool &pool) {
  auto run = [&](auto op) {
    runBinary<T, uint8_t>("compare", a, b, out, kGrainCheap, pool, op);
  };
  switch (kind) {
  case CompareKind::Eq:
    return run([](T x, T y) -> uint8_t { return x == y; });
  case CompareKind::Ne:
    return run([](T x, T y) -> uint8_t { return x != y; });
  case CompareKind::Lt:
    return run([](T x, T y) -> uint8_t { return x < y; });
  case CompareKind::Le:
    return run([](T x, T y) -> uint8_t { return x <= y; });
  case CompareKind::Gt:
    return run([](T x, T y) -> uint8_t { return x > y; });
  case CompareKind::Ge:
    return run([](T x, T y) -> uint8_t { return x >= y; });
  }
  fail("compare", "unknown op");
}

/// out[i] = c[i * SC] ? a[i * SA] : b[i * SB] over one run.
template <int SC, int SA, int SB, typename T>
inline void whereRun(const uint8_t *__restrict c, const T *__restrict a,
                     const T *__restrict b, T *__restrict o, int64_t len) {
  for (int64_t i = 0; i < len; ++i)
    o[i] = c[i * SC] ? a[i * SA] : b[i * SB];
}

/// Element type T stands for any type of its size: where only moves bits.
template <typename T>
void whereTyped(const TensorView &cond, const TensorView &a,
                const TensorView &b, const TensorView &out, ThreadPool &pool) {
  LoopNest nest(out.shape, {broadcastStrides("where", cond.shape, out.shape),
                            broadcastStrides("where", a.shape, out.shape),
                            broadcastStrides("where", b.shape, out.shape)});
  const uint8_t *pc = cond.as<uint8_t>();
  const T *pa = static_cast<const T *>(a.data);
  const T *pb = static_cast<const T *>(b.data);
  T *po = static_cast<T *>(out.data);
  int pattern = (nest.innerStride(0) ? 4 : 0) | (nest.innerStride(1) ? 2 : 0) |
                (nest.innerStride(2) ? 1 : 0);
  pool.parallelFor(nest.numel(), kGrainCheap, [&](int64_t begin, int64_t end) {
    nest.forEachRun(begin, end, [&](int64_t pos, const auto &off, int64_t len) {
      const uint8_t *c = pc + off[0];
      const T *x = pa + off[1];
      const T *y = pb + off[2];
      T *o = po + pos;
      switch (pattern) {
      case 0:
        return whereRun<0, 0, 0>(c, x, y, o, len);
      case 1:
        return whereRun<0, 0, 1>(c, x, y, o, len);
      case 2:
        return whereRun<0, 1, 0>(c, x, y, o, len);
      case 3:
        return whereRun<0, 1, 1>(c, x, y, o, len);
      case 4:
        return whereRun<1, 0, 0>(c, x, y, o, len);
      case 5:
        return whereRun<1, 0, 1>(c, x, y, o, len);
      case 6:
        return whereRun<1, 1, 0>(c, x, y, o, len);
      default:
        return whereRun<1, 1, 1>(c, x, y, o, len);
      }
    });
  });
}

//===----------------------------------------------------------------------===//
// Cast
//===----------------------------------------------------------------------===//

/// Storage of the 16-bit float types and of bool, distinct from the integer
/// types of the same size so conversions can tell them apart.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};
struct Bool {
  uint8_t value;
};

template <typename T>
constexpr bool isFloating =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
    std::is_same_v<T, BFloat16>;

/// Rounds a double to the nearest value of a binary float format with
/// ExpBits exponent bits and MantBits stored mantissa bits, ties to even;
/// overflow gives inf, NaN stays a quiet NaN. Exact in one step, so no
/// double-rounding error.
template <int ExpBits, int MantBits> uint16_t encodeSmallFloat(double d) {
  constexpr int kBias = (1 << (ExpBits - 1)) - 1;
  constexpr int kMinExp = 1 - kBias;
  constexpr uint32_t kInf = ((1u << ExpBits) - 1) << MantBits;
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  uint32_t sign = static_cast<uint32_t>(bits >> 63) << (ExpBits + MantBits);
  int biased = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t mant = bits & ((uint64_t(1) << 52) - 1);
  if (biased == 0x7ff)
    return static_cast<uint16_t>(
        sign | kInf |
        (mant ? (1u << (MantBits - 1)) | (mant >> (52 - MantBits)) : 0));
  if (biased == 0) // double subnormals are far below the format's range
    return static_cast<uint16_t>(sign);
  int exp = biased - 1023;
  if (exp > kBias)
    return static_cast<uint16_t>(sign | kInf);
  uint64_t sig = (uint64_t(1) << 52) | mant;
  // Bits to drop: the mantissa width difference, plus the denormalization
  // shift when the result is subnormal.
  int shift = 52 - MantBits + (exp < kMinExp ? kMinExp - exp : 0);
  if (shift > 63)
    return static_cast<uint16_t>(sign);
  uint64_t q = sig >> shift;
  uint64_t rem = sig & ((uint64_t(1) << shift) - 1);
  uint64_t halfway = uint64_t(1) << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1)))
    ++q;
  // q includes the implicit bit for normal results, so adding it to the
  // exponent field minus one encodes them; a rounding carry runs into the
  // exponent (up to inf). Subnormal results have a zero exponent field.
  uint32_t enc =
      (exp >= kMinExp ? static_cast<uint32_t>(exp + kBias - 1) << MantBits
                      : 0) +
      static_cast<uint32_t>(q);
  return static_cast<uint16_t>(sign | enc);
}

/// int64 -> double that rounds to odd when inexact: a later rounding to a
/// narrower format then gives the correctly rounded result.
double int64ToDoubleSticky(int64_t i) {
  uint64_t mag =
      i < 0 ? uint64_t(0) - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  if (mag < (uint64_t(1) << 53))
    return static_cast<double>(i);
  int shift = 64 - __builtin_clzll(mag) - 53;
  uint64_t kept = mag >> shift;
  if (mag & ((uint64_t(1) << shift) - 1))
    kept |= 1;
  double v = std::ldexp(static_cast<double>(kept), shift);
  return i < 0 ? -v : v;
}

template <typename T> double floatingToDouble(T v) {
  if constexpr (std::is_same_v<T, Half>)
    return detail::halfBitsToFloat(DType::F16, v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return bitsToFloat(static_cast<uint32_t>(v.bits) << 16);
  else
    return v;
}

template <typename T> int64_t integralToInt64(T v) {
  if constexpr (std::is_same_v<T, Bool>)
    return v.value != 0;
  else
    return v;
}

/// Float to integer: truncation toward zero, saturating at the type's
/// limits; NaN gives 0. (C++ leaves out-of-range conversions undefined.)
template <typename I> I saturatingFromDouble(double d) {
  constexpr double kLo = static_cast<double>(std::numeric_limits<I>::min());
  // Exact: max + 1 is a power of two (for int64, max rounds up to it).
  constexpr double kHiExclusive =
      static_cast<double>(std::numeric_limits<I>::max()) + 1.0;
  if (d != d)
    return 0;
  if (d <= kLo)
    return std::numeric_limits<I>::min();
  if (d >= kHiExclusive)
    return std::numeric_limits<I>::max();
  return static_cast<I>(d);
}

template <typename Dst> Dst fromDouble(double d) {
  if constexpr (std::is_same_v<Dst, Half>)
    return Half{encodeSmallFloat<5, 10>(d)};
  else if constexpr (std::is_same_v<Dst, BFloat16>)
    return BFloat16{encodeSmallFloat<8, 7>(d)};
  else if constexpr (std::is_same_v<Dst, Bool>)
    return Bool{d != 0.0};
  else if constexpr (std::is_floating_point_v<Dst>)
    return static_cast<Dst>(d);
  else
    return saturatingFromDouble<Dst>(d);
}

template <typename Dst> Dst fromInt64(int64_t i) {
  if constexpr (std::is_same_v<Dst, Half> || std::is_same_v<Dst, BFloat16>)
    return fromDouble<Dst>(int64ToDoubleSticky(i));
  else if constexpr (std::is_same_v<Dst, Bool>)
    return Bool{i != 0};
  else
    return static_cast<Dst>(i); // floats round to nearest, ints wrap
}

template <typename Dst, typename Src> Dst convertValue(Src v) {
  if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, BFloat16>)
    return BFloat16{detail::floatToHalfBits(DType::BF16, v)};
  else if constexpr (std::is_same_v<Src, float> && std::is_same_v<Dst, Half>)
    return Half{detail::floatToHalfBits(DType::F16, v)};
  else if constexpr (std::is_same_v<Src, float> &&
                     std::is_floating_point_v<Dst>)
    return static_cast<Dst>(v);
  else if constexpr (isFloating<Src>)
    return fromDouble<Dst>(floatingToDouble(v));
  else
    return fromInt64<Dst>(integralToInt64(v));
}

template <typename T> struct TypeTag { using type = T; };

/// Calls fn(TypeTag<T>{}) with the storage type of t.
template <typename Fn>
void withStorageType(const char *kernel, DType t, Fn fn) {
  switch (t) {
  case DType::F32:
    return fn(TypeTag<float>{});
  case DType::F64:
    return fn(TypeTag<double>{});
  case DType::F16:
    return fn(TypeTag<Half>{});
  case DType::BF16:
    return fn(TypeTag<BFloat16>{});
  case DType::I64:
    return fn(TypeTag<int64_t>{});
  case DType::I32:
    return fn(TypeTag<int32_t>{});
  case DType::I16:
    return fn(TypeTag<int16_t>{});
  case DType::I8:
    return fn(TypeTag<int8_t>{});
  case DType::U8:
    return fn(TypeTag<uint8_t>{});
  case DType::Bool:
    return fn(TypeTag<Bool>{});
  }
  unsupportedType(kernel, t);
}

} // namespace

namespace detail {
Widened widenToF32(const TensorView &t, ThreadPool &pool) {
  if (t.dtype == DType::F32)
    return {{}, t};
  Widened w = f32Like(t);
  cast(t, w.view, pool);
  return w;
}

Widened f32Like(const TensorView &out) {
  Widened w;
  w.storage.resize(static_cast<size_t>(out.numel()));
  w.view = {w.storage.data(), DType::F32, out.shape};
  return w;
}
} // namespace detail

void binary(BinaryKind kind, const TensorView &a, const TensorView &b,
            const TensorView &out, ThreadPool &pool) {
  requireSameType("binary", a, b);
  requireSameType("binary", a, out);
  switch (a.dtype) {
  case DType::F32:
    return binaryF32(kind, a, b, out, pool);
  case DType::BF16:
  case DType::F16: { // in fp32, one rounding
    Widened x = widenToF32(a, pool), y = widenToF32(b, pool), r = f32Like(out);
    binaryF32(kind, x.view, y.view, r.view, pool);
    return cast(r.view, out, pool);
  }
  case DType::I64:
    return binaryInt<int64_t>(kind, a, b, out, pool);
  case DType::I32:
    return binaryInt<int32_t>(kind, a, b, out, pool);
  default:
    unsupportedType("binary", a.dtype);
  }
}

void unary(UnaryKind kind, const TensorView &x, const TensorView &out,
           ThreadPool &pool) {
  requireSameType("unary", x, out);
  require(x.shape == out.shape, "unary", "shape mismatch");
  switch (x.dtype) {
  case DType::F32:
    return unaryF32(kind, x, out, pool);
  case DType::BF16:
  case DType::F16: { // in fp32, one rounding
    Widened wide = widenToF32(x, pool), result = f32Like(out);
    unaryF32(kind, wide.view, result.view, pool);
    return cast(result.view, out, pool);
  }
  case DType::I64:
    return unaryInt<int64_t>(kind, x, out, pool);
  case DType::I32:
    return unaryInt<int32_t>(kind, x, out, pool);
  case DType::Bool:
    require(kind == UnaryKind::Not, "unary", "only not is defined for bool");
    return runUnary<uint8_t>(x, out, kGrainCheap, pool,
                             [](uint8_t v) -> uint8_t { return v == 0; });
  default:
    unsupportedType("unary", x.dtype);
  }
}

void compare(CompareKind kind, const TensorView &a, const TensorView &b,
             const TensorView &out, ThreadPool &pool) {
  requireSameType("compare", a, b);
  require(out.dtype == DType::Bool, "compare", "output must be bool");
  switch (a.dtype) {
  case DType::F32:
    return compareTyped<float>(kind, a, b, out, pool);
  case DType::I64:
    return compareTyped<int64_t>(kind, a, b, out, pool);
  case DType::I32:
    return compareTyped<int32_t>(kind, a, b, out, pool);
  default:
    unsupportedType("compare", a.dtype);
  }
}

void where(const TensorView &cond, const TensorView &a, const TensorView &b,
           const TensorView &out, ThreadPool &pool) {
  require(cond.dtype == DType::Bool, "where", "condition must be bool");
  requireSameType("where", a, b);
  requireSameType("where", a, out);
  switch (dtypeSize(a.dtype)) {
  case 1:
    return whereTyped<uint8_t>(cond, a, b, out, pool);
  case 2:
    return whereTyped<uint16_t>(cond, a, b, out, pool);
  case 4:
    return whereTyped<uint32_t>(cond, a, b, out, pool);
  case 8:
    return whereTyped<uint64_t>(cond, a, b, out, pool);
  default:
    unsupportedType("where", a.dtype);
  }
}

void cast(const TensorView &x, const TensorView &out, ThreadPool &pool) {
  require(x.shape == out.shape, "cast", "shape mismatch");
  if (x.dtype == out.dtype)
    return copy(x, out, pool);
  withStorageType("cast", x.dtype, [&](auto srcTag) {
    using Src = typename decltype(srcTag)::type;
    withStorageType("cast", out.dtype, [&](auto dstTag) {
      using Dst = typename decltype(dstTag)::type;
      const Src *px = static_cast<const Src *>(x.data);
      Dst *po = static_cast<Dst *>(out.data);
      pool.parallelFor(x.numel(), kGrainMedium,
                       [&](int64_t begin, int64_t end) {
                         const Src *__restrict src = px;
                         Dst *__restrict dst = po;
                         for (int64_t i = begin; i < end; ++i)
                           dst[i] = convertValue<Dst>(src[i]);
                       });
    });
  });
}

} // namespace accel::rt::cpu
