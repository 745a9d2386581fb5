//===- ElementwiseTest.cpp - Conformance of binary/unary/compare/where ----===//
//
// Each kernel against a double-precision (or int64) reference on random
// inputs: same shapes, scalars (rank 0), rows, columns, two-sided
// broadcasts, and tensors large enough to be split over the pool.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

#include <functional>

using namespace accel::rt;
using namespace accel::rt::conformance;
using backend::BinaryKind;
using backend::CompareKind;
using backend::UnaryKind;

namespace {

/// Operand shape pairs covering every broadcast pattern the kernels
/// special-case, plus ones big enough to run in parallel.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{2, 3, 4}, {2, 3, 4}},
    {{}, {}},
    {{}, {5}},
    {{7}, {}},
    {{4, 5}, {5}},
    {{4, 5}, {4, 1}},
    {{3, 1, 5}, {1, 4, 1}},
    {{2, 1, 3, 1}, {5, 1, 6}},
    {{1}, {6, 1}},
    {{300, 257}, {257}},
    {{70001}, {70001}},
    {{2, 40000}, {2, 1}},
};

double refBinaryF32(BinaryKind kind, double a, double b) {
  switch (kind) {
  case BinaryKind::Add:
    return a + b;
  case BinaryKind::Sub:
    return a - b;
  case BinaryKind::Mul:
    return a * b;
  case BinaryKind::Div:
    return a / b;
  case BinaryKind::Pow:
    return std::pow(a, b);
  case BinaryKind::Max:
    return std::max(a, b);
  case BinaryKind::Min:
    return std::min(a, b);
  case BinaryKind::Mod:
    return std::fmod(a, b);
  }
  return NAN;
}

/// Integer reference: truncating division, modulo with the divisor's sign.
int64_t refBinaryInt(BinaryKind kind, int64_t a, int64_t b) {
  switch (kind) {
  case BinaryKind::Add:
    return a + b;
  case BinaryKind::Sub:
    return a - b;
  case BinaryKind::Mul:
    return a * b;
  case BinaryKind::Div:
    return a / b;
  case BinaryKind::Max:
    return std::max(a, b);
  case BinaryKind::Min:
    return std::min(a, b);
  case BinaryKind::Mod:
    return ((a % b) + b) % b;
  case BinaryKind::Pow: {
    // Naive repeated multiplication; negative exponents truncate toward 0.
    if (b < 0)
      return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
    int64_t r = 1;
    for (int64_t i = 0; i < b; ++i)
      r *= a;
    return r;
  }
  }
  ADD_FAILURE() << "no integer reference";
  return 0;
}

/// Random operand values suited to each op: positive bases for pow,
/// divisors bounded away from zero.
HostTensor binaryOperand(BinaryKind kind, bool isRhs, const Shape &s,
                         std::mt19937_64 &rng) {
  if (kind == BinaryKind::Pow)
    return isRhs ? randomF32(s, rng, -2.0f, 2.0f)
                 : randomF32(s, rng, 0.5f, 2.0f);
  HostTensor t = randomF32(s, rng, -3.0f, 3.0f);
  if (isRhs && (kind == BinaryKind::Div || kind == BinaryKind::Mod))
    for (int64_t i = 0; i < t.numel(); ++i) {
      float &v = t.data<float>()[i];
      v = v < 0 ? v - 0.5f : v + 0.5f;
    }
  return t;
}

TEST(Binary, F32AllKindsAndBroadcasts) {
  std::mt19937_64 rng(1);
  for (BinaryKind kind :
       {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div,
        BinaryKind::Pow, BinaryKind::Max, BinaryKind::Min, BinaryKind::Mod}) {
    for (const auto &[as, bs] : kBinaryShapes) {
      HostTensor a = binaryOperand(kind, false, as, rng);
      HostTensor b = binaryOperand(kind, true, bs, rng);
      auto expected = broadcastApply<double, double>(
          toDoubles(a), as, toDoubles(b), bs,
          [&](double x, double y) { return refBinaryF32(kind, x, y); });
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, broadcastShapes(as, bs));
        backend::binary(kind, a.view(), b.view(), out.view(), pool);
        expectClose(out, expected, 1e-5, 1e-6,
                    "kind " + std::to_string(int(kind)) + " " +
                        shapeToString(as) + " with " + shapeToString(bs));
      });
    }
  }
}

// bf16 and fp16 operands: the fp32 kernel's result on their values,
// rounded once.
TEST(Binary, HalfComputesInFp32AndRoundsOnce) {
  std::mt19937_64 rng(2);
  for (DType half : {DType::BF16, DType::F16})
    for (BinaryKind kind : {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul,
                            BinaryKind::Div, BinaryKind::Max}) {
      for (const auto &[as, bs] : kBinaryShapes) {
        HostTensor a = toHalf(binaryOperand(kind, false, as, rng), half);
        HostTensor b = toHalf(binaryOperand(kind, true, bs, rng), half);
        HostTensor a32 = toF32(a), b32 = toF32(b);
        ThreadPool one(1);
        HostTensor wide(DType::F32, broadcastShapes(as, bs));
        backend::binary(kind, a32.view(), b32.view(), wide.view(), one);
        HostTensor expected = toHalf(wide, half);
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(half, broadcastShapes(as, bs));
          backend::binary(kind, a.view(), b.view(), out.view(), pool);
          EXPECT_EQ(out.storage, expected.storage)
              << dtypeName(half) << " kind " << int(kind) << " "
              << shapeToString(as) << " with " << shapeToString(bs);
        });
      }
    }
}

TEST(Binary, PowWithSmallIntegralScalarExponents) {
  std::mt19937_64 rng(2);
  HostTensor x = randomF32({1000}, rng, -4.0f, 4.0f);
  for (float e : {2.0f, 3.0f, 0.5f, -1.0f}) {
    HostTensor base = x;
    if (e == 0.5f) // keep the square root real
      for (int64_t i = 0; i < base.numel(); ++i)
        base.data<float>()[i] = std::fabs(base.data<float>()[i]);
    HostTensor exponent = makeTensor<float>(DType::F32, {}, {e});
    std::vector<double> expected;
    for (double v : toDoubles(base))
      expected.push_back(std::pow(v, double(e)));
    forEachPool([&](ThreadPool &pool) {
      HostTensor out(DType::F32, {1000});
      backend::binary(BinaryKind::Pow, base.view(), exponent.view(), out.view(),
                      pool);
      expectClose(out, expected, 1e-5, 1e-6, "exponent " + std::to_string(e));
    });
  }
}

TEST(Binary, Integers) {
  std::mt19937_64 rng(3);
  for (DType t : {DType::I64, DType::I32}) {
    for (BinaryKind kind :
         {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div,
          BinaryKind::Max, BinaryKind::Min, BinaryKind::Mod}) {
      for (const auto &[as, bs] : kBinaryShapes) {
        HostTensor a = randomInt(t, as, rng, -1000, 1000);
        HostTensor b = randomInt(t, bs, rng, 1, 50);
        // Divisors of both signs, never zero.
        for (int64_t i = 0; i < b.numel(); i += 2) {
          if (t == DType::I64)
            b.data<int64_t>()[i] *= -1;
          else
            b.data<int32_t>()[i] *= -1;
        }
        auto toI64 = [](const HostTensor &h) {
          std::vector<int64_t> v;
          for (double d : toDoubles(h))
            v.push_back(static_cast<int64_t>(d));
          return v;
        };
        auto expected = broadcastApply<int64_t, int64_t>(
            toI64(a), as, toI64(b), bs,
            [&](int64_t x, int64_t y) { return refBinaryInt(kind, x, y); });
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(t, broadcastShapes(as, bs));
          backend::binary(kind, a.view(), b.view(), out.view(), pool);
          auto got = toI64(out);
          ASSERT_EQ(got, expected)
              << dtypeName(t) << " kind " << int(kind) << " "
              << shapeToString(as) << " with " << shapeToString(bs);
        });
      }
    }
  }
}

TEST(Binary, IntegerPow) {
  std::mt19937_64 rng(5);
  for (DType t : {DType::I64, DType::I32}) {
    for (const auto &[as, bs] : kBinaryShapes) {
      // Small bases and exponents in [-3, 9]: exact, no overflow.
      HostTensor a = randomInt(t, as, rng, -6, 6);
      HostTensor b = randomInt(t, bs, rng, -3, 9);
      auto toI64 = [](const HostTensor &h) {
        std::vector<int64_t> v;
        for (double d : toDoubles(h))
          v.push_back(static_cast<int64_t>(d));
        return v;
      };
      auto expected = broadcastApply<int64_t, int64_t>(
          toI64(a), as, toI64(b), bs, [](int64_t x, int64_t y) {
            return refBinaryInt(BinaryKind::Pow, x, y);
          });
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, broadcastShapes(as, bs));
        backend::binary(BinaryKind::Pow, a.view(), b.view(), out.view(), pool);
        ASSERT_EQ(toI64(out), expected) << dtypeName(t);
      });
    }
  }
}

TEST(Binary, IntegerDivisionRoundsTowardZeroAndModTakesDivisorSign) {
  HostTensor a = makeTensor<int64_t>(DType::I64, {4}, {7, -7, 7, -7});
  HostTensor b = makeTensor<int64_t>(DType::I64, {4}, {2, 2, -2, -2});
  forEachPool([&](ThreadPool &pool) {
    HostTensor q(DType::I64, {4}), r(DType::I64, {4});
    backend::binary(BinaryKind::Div, a.view(), b.view(), q.view(), pool);
    backend::binary(BinaryKind::Mod, a.view(), b.view(), r.view(), pool);
    EXPECT_EQ(q.values<int64_t>(), (std::vector<int64_t>{3, -3, -3, 3}));
    EXPECT_EQ(r.values<int64_t>(), (std::vector<int64_t>{1, 1, -1, -1}));
  });
  // Floats use fmod: the sign of the dividend.
  HostTensor fa = makeTensor<float>(DType::F32, {2}, {-7.0f, 7.0f});
  HostTensor fb = makeTensor<float>(DType::F32, {2}, {2.0f, -2.0f});
  forEachPool([&](ThreadPool &pool) {
    HostTensor r(DType::F32, {2});
    backend::binary(BinaryKind::Mod, fa.view(), fb.view(), r.view(), pool);
    EXPECT_EQ(r.values<float>(), (std::vector<float>{-1.0f, 1.0f}));
  });
}

TEST(Binary, IntegerOverflowWraps) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  HostTensor a = makeTensor<int64_t>(DType::I64, {2}, {kMin, kMin});
  HostTensor b = makeTensor<int64_t>(DType::I64, {2}, {-1, -1});
  HostTensor i32Max = makeTensor<int32_t>(
      DType::I32, {1}, {std::numeric_limits<int32_t>::max()});
  HostTensor one = makeTensor<int32_t>(DType::I32, {}, {1});
  forEachPool([&](ThreadPool &pool) {
    HostTensor q(DType::I64, {2}), r(DType::I64, {2}), s(DType::I32, {1});
    backend::binary(BinaryKind::Div, a.view(), b.view(), q.view(), pool);
    backend::binary(BinaryKind::Mod, a.view(), b.view(), r.view(), pool);
    backend::binary(BinaryKind::Add, i32Max.view(), one.view(), s.view(), pool);
    EXPECT_EQ(q.values<int64_t>(), (std::vector<int64_t>{kMin, kMin}));
    EXPECT_EQ(r.values<int64_t>(), (std::vector<int64_t>{0, 0}));
    EXPECT_EQ(s.data<int32_t>()[0], std::numeric_limits<int32_t>::min());
  });
}

TEST(Binary, ErrorsAreKernelErrors) {
  ThreadPool pool(2);
  HostTensor a = makeTensor<int32_t>(DType::I32, {3}, {1, 2, 3});
  HostTensor zero = makeTensor<int32_t>(DType::I32, {3}, {1, 0, 1});
  HostTensor out(DType::I32, {3});
  EXPECT_THROW(
      backend::binary(BinaryKind::Div, a.view(), zero.view(), out.view(), pool),
      KernelError);
  EXPECT_THROW(
      backend::binary(BinaryKind::Mod, a.view(), zero.view(), out.view(), pool),
      KernelError);
  HostTensor d(DType::F64, {3});
  try {
    backend::binary(BinaryKind::Add, d.view(), d.view(), d.view(), pool);
    ADD_FAILURE() << "f64 add should throw";
  } catch (const KernelError &e) {
    EXPECT_NE(std::string(e.what()).find("f64"), std::string::npos) << e.what();
  }
  HostTensor f(DType::F32, {3});
  EXPECT_THROW(
      backend::binary(BinaryKind::Add, f.view(), a.view(), out.view(), pool),
      KernelError);
  HostTensor f4(DType::F32, {4});
  EXPECT_THROW(
      backend::binary(BinaryKind::Add, f.view(), f4.view(), f4.view(), pool),
      KernelError);
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

struct UnaryCase {
  UnaryKind kind;
  float lo, hi;
  std::function<double(double)> ref;
};

std::vector<UnaryCase> unaryCases() {
  const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);
  return {
      {UnaryKind::Neg, -5, 5, [](double x) { return -x; }},
      {UnaryKind::Abs, -5, 5, [](double x) { return std::fabs(x); }},
      {UnaryKind::Exp, -20, 20, [](double x) { return std::exp(x); }},
      {UnaryKind::Log, 0.01f, 100, [](double x) { return std::log(x); }},
      {UnaryKind::Sqrt, 0, 100, [](double x) { return std::sqrt(x); }},
      {UnaryKind::Rsqrt, 0.01f, 100, [](double x) { return 1 / std::sqrt(x); }},
      {UnaryKind::Reciprocal, 0.1f, 10, [](double x) { return 1 / x; }},
      {UnaryKind::Tanh, -6, 6, [](double x) { return std::tanh(x); }},
      {UnaryKind::Erf, -4, 4, [](double x) { return std::erf(x); }},
      {UnaryKind::Relu, -5, 5, [](double x) { return x > 0 ? x : 0.0; }},
      {UnaryKind::Sigmoid, -20, 20,
       [](double x) { return 1 / (1 + std::exp(-x)); }},
      {UnaryKind::Silu, -20, 20,
       [](double x) { return x / (1 + std::exp(-x)); }},
      {UnaryKind::GeluErf, -8, 8,
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {UnaryKind::GeluTanh, -8, 8,
       [=](double x) {
         return 0.5 * x *
                (1 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
       }},
      {UnaryKind::Sin, -10, 10, [](double x) { return std::sin(x); }},
      {UnaryKind::Cos, -10, 10, [](double x) { return std::cos(x); }},
      {UnaryKind::Floor, -5, 5, [](double x) { return std::floor(x); }},
      {UnaryKind::Ceil, -5, 5, [](double x) { return std::ceil(x); }},
      {UnaryKind::Sign, -5, 5,
       [](double x) { return double((x > 0) - (x < 0)); }},
  };
}

TEST(Unary, F32AllKinds) {
  std::mt19937_64 rng(4);
  for (const UnaryCase &c : unaryCases()) {
    for (const Shape &s : {Shape{}, Shape{1}, Shape{1000}, Shape{3, 40000}}) {
      HostTensor x = randomF32(s, rng, c.lo, c.hi);
      if (c.kind == UnaryKind::Sign && x.numel() > 1)
        x.data<float>()[0] = 0.0f;
      if (c.kind == UnaryKind::Reciprocal && x.numel() > 1)
        x.data<float>()[1] = -0.5f;
      std::vector<double> expected;
      for (double v : toDoubles(x))
        expected.push_back(c.ref(v));
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(DType::F32, s);
        backend::unary(c.kind, x.view(), out.view(), pool);
        // sin and cos near their zeros are only accurate in absolute terms.
        expectClose(out, expected, 1e-5, 1e-6,
                    "kind " + std::to_string(int(c.kind)) + " " +
                        shapeToString(s));
      });
    }
  }
}

/// The kernels' own exp, tanh and sigmoid (and the activations built on
/// them) over the whole float range, including the tails, tiny arguments and
/// special values.
TEST(Unary, TranscendentalsAcrossTheRange) {
  std::vector<float> finite;
  for (double x = -120; x <= 120; x += 0.0137)
    finite.push_back(static_cast<float>(x));
  for (double x = 1e-8; x < 1; x *= 1.37) {
    finite.push_back(static_cast<float>(x));
    finite.push_back(static_cast<float>(-x));
  }
  for (float special : {0.0f, -0.0f, 88.7f, 89.0f, -87.3f, -103.0f, -110.0f})
    finite.push_back(special);
  std::vector<float> withInf = finite;
  withInf.push_back(INFINITY);
  withInf.push_back(-INFINITY);

  const double kSqrt2OverPi = std::sqrt(2.0 / M_PI);
  struct Case {
    UnaryKind kind;
    bool infinities; // x * f(x) forms give inf * 0 = NaN at -inf
    std::function<double(double)> ref;
  };
  std::vector<Case> cases = {
      {UnaryKind::Exp, true, [](double v) { return std::exp(v); }},
      {UnaryKind::Tanh, true, [](double v) { return std::tanh(v); }},
      {UnaryKind::Sigmoid, true,
       [](double v) { return 1 / (1 + std::exp(-v)); }},
      {UnaryKind::Silu, false, [](double v) { return v / (1 + std::exp(-v)); }},
      // 0.5 (1 + tanh(u)) written as 1 / (1 + e^-2u): in the negative tail
      // 1 + tanh(u) cancels to 0 even in double.
      {UnaryKind::GeluTanh, false,
       [=](double v) {
         return v /
                (1 + std::exp(-2 * kSqrt2OverPi * (v + 0.044715 * v * v * v)));
       }},
      {UnaryKind::GeluErf, false,
       [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
  };
  ThreadPool pool(2);
  for (const Case &c : cases) {
    const std::vector<float> &xs = c.infinities ? withInf : finite;
    HostTensor x = makeTensor<float>(DType::F32, {int64_t(xs.size())}, xs);
    std::vector<double> expected;
    for (float v : xs) // what an exact float result would be
      expected.push_back(static_cast<float>(c.ref(v)));
    HostTensor out(DType::F32, x.shape);
    backend::unary(c.kind, x.view(), out.view(), pool);
    // Results below FLT_MIN are subnormal and only accurate absolutely.
    expectClose(out, expected, 2e-6, 1e-37,
                "kind " + std::to_string(int(c.kind)));
  }
  HostTensor nan = makeTensor<float>(DType::F32, {1}, {NAN});
  for (UnaryKind kind : {UnaryKind::Exp, UnaryKind::Tanh, UnaryKind::Sigmoid,
                         UnaryKind::GeluTanh}) {
    HostTensor out(DType::F32, {1});
    backend::unary(kind, nan.view(), out.view(), pool);
    EXPECT_TRUE(std::isnan(out.data<float>()[0])) << "kind " << int(kind);
  }
}

TEST(Unary, IntegersAndBool) {
  std::mt19937_64 rng(5);
  for (DType t : {DType::I64, DType::I32}) {
    HostTensor x = randomInt(t, {100000}, rng, -1000000, 1000000);
    auto xs = toDoubles(x);
    forEachPool([&](ThreadPool &pool) {
      HostTensor neg(t, x.shape), abs(t, x.shape);
      backend::unary(UnaryKind::Neg, x.view(), neg.view(), pool);
      backend::unary(UnaryKind::Abs, x.view(), abs.view(), pool);
      auto n = toDoubles(neg), a = toDoubles(abs);
      for (size_t i = 0; i < xs.size(); ++i) {
        ASSERT_EQ(n[i], -xs[i]);
        ASSERT_EQ(a[i], std::fabs(xs[i]));
      }
      HostTensor out(t, x.shape);
      EXPECT_THROW(backend::unary(UnaryKind::Exp, x.view(), out.view(), pool),
                   KernelError);
    });
  }
  HostTensor b = randomBool({50001}, rng);
  forEachPool([&](ThreadPool &pool) {
    HostTensor out(DType::Bool, b.shape);
    backend::unary(UnaryKind::Not, b.view(), out.view(), pool);
    for (int64_t i = 0; i < b.numel(); ++i)
      ASSERT_EQ(out.data<uint8_t>()[i], !b.data<uint8_t>()[i]);
    EXPECT_THROW(backend::unary(UnaryKind::Neg, b.view(), out.view(), pool),
                 KernelError);
  });
  HostTensor f(DType::F32, {2});
  ThreadPool pool(1);
  EXPECT_THROW(backend::unary(UnaryKind::Not, f.view(), f.view(), pool),
               KernelError);
}

//===----------------------------------------------------------------------===//
// Compare and where
//===----------------------------------------------------------------------===//

TEST(Compare, AllKindsTypesAndBroadcasts) {
  std::mt19937_64 rng(6);
  auto ref = [](CompareKind k, double a, double b) -> uint8_t {
    switch (k) {
    case CompareKind::Eq:
      return a == b;
    case CompareKind::Ne:
      return a != b;
    case CompareKind::Lt:
      return a < b;
    case CompareKind::Le:
      return a <= b;
    case CompareKind::Gt:
      return a > b;
    case CompareKind::Ge:
      return a >= b;
    }
    return 2;
  };
  for (DType t : {DType::F32, DType::I64, DType::I32}) {
    for (CompareKind kind :
         {CompareKind::Eq, CompareKind::Ne, CompareKind::Lt, CompareKind::Le,
          CompareKind::Gt, CompareKind::Ge}) {
      for (const auto &[as, bs] : kBinaryShapes) {
        // Few distinct values so equality happens often.
        auto operand = [&](const Shape &s) {
          if (t != DType::F32)
            return randomInt(t, s, rng, -3, 3);
          HostTensor h = randomInt(DType::I32, s, rng, -3, 3);
          HostTensor f(DType::F32, s);
          for (int64_t i = 0; i < h.numel(); ++i)
            f.data<float>()[i] = h.data<int32_t>()[i] * 0.25f;
          return f;
        };
        HostTensor a = operand(as), b = operand(bs);
        auto expected = broadcastApply<double, uint8_t>(
            toDoubles(a), as, toDoubles(b), bs,
            [&](double x, double y) { return ref(kind, x, y); });
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(DType::Bool, broadcastShapes(as, bs));
          backend::compare(kind, a.view(), b.view(), out.view(), pool);
          ASSERT_EQ(out.values<uint8_t>(), expected)
              << dtypeName(t) << " kind " << int(kind) << " "
              << shapeToString(as) << " with " << shapeToString(bs);
        });
      }
    }
  }
}

TEST(Where, ThreeWayBroadcastAnyElementSize) {
  std::mt19937_64 rng(7);
  struct Case {
    Shape c, a, b;
  };
  std::vector<Case> cases = {
      {{2, 3}, {2, 3}, {2, 3}},
      {{}, {4}, {}},
      {{4, 1, 6}, {1, 5, 6}, {}},
      {{5, 1}, {1}, {1, 7}},
      {{6}, {3, 1}, {3, 6}},
      {{1, 1, 9}, {2, 4, 1}, {4, 9}},
      {{128, 128}, {4, 1, 128, 128}, {}},
      {{3}, {}, {}},
  };
  for (DType t : {DType::F32, DType::I64, DType::Bool, DType::F16, DType::I8}) {
    for (const Case &c : cases) {
      HostTensor cond = randomBool(c.c, rng);
      auto randomOf = [&](const Shape &s) {
        HostTensor h(t, s);
        for (auto &byte : h.storage)
          byte = static_cast<uint8_t>(rng());
        if (t == DType::Bool)
          for (auto &byte : h.storage)
            byte &= 1;
        return h;
      };
      HostTensor a = randomOf(c.a), b = randomOf(c.b);
      Shape os = broadcastShapes(broadcastShapes(c.c, c.a), c.b);
      size_t elem = dtypeSize(t);
      HostTensor expected(t, os);
      for (int64_t i = 0; i < expected.numel(); ++i) {
        auto idx = unravel(i, os);
        bool keepA = cond.data<uint8_t>()[broadcastSource(idx, c.c)];
        const HostTensor &src = keepA ? a : b;
        int64_t j = broadcastSource(idx, keepA ? c.a : c.b);
        std::memcpy(expected.storage.data() + i * elem,
                    src.storage.data() + j * elem, elem);
      }
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, os);
        backend::where(cond.view(), a.view(), b.view(), out.view(), pool);
        ASSERT_EQ(out.storage, expected.storage)
            << dtypeName(t) << " cond " << shapeToString(c.c) << " a "
            << shapeToString(c.a) << " b " << shapeToString(c.b);
      });
    }
  }
  ThreadPool pool(1);
  HostTensor f(DType::F32, {2}), i(DType::I32, {2});
  EXPECT_THROW(backend::where(f.view(), f.view(), f.view(), f.view(), pool),
               KernelError);
  HostTensor c(DType::Bool, {2});
  EXPECT_THROW(backend::where(c.view(), f.view(), i.view(), f.view(), pool),
               KernelError);
}

} // namespace
