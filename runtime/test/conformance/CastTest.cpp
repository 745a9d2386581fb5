//===- CastTest.cpp - Conformance of element type conversion --------------===//
//
// Every source/destination pair on edge values (ties, subnormals, overflow,
// NaN, infinities, integer limits) against an exact reference: values are
// held in long double (exact for every element type), 16-bit floats are
// rounded by searching the table of all their values.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

const DType kAllTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16,
                           DType::I64, DType::I32, DType::I16, DType::I8,
                           DType::U8,  DType::Bool};

bool isFloatType(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 ||
         t == DType::BF16;
}

/// The exact value of element i.
long double exactValue(const HostTensor &t, int64_t i) {
  if (t.dtype == DType::I64)
    return static_cast<long double>(t.data<int64_t>()[i]);
  return elementAsDouble(t, i);
}

/// Reference integer conversion: floats truncate toward zero and saturate
/// (NaN gives 0); integers wrap modulo 2^bits.
template <typename I> I refToInt(long double v, bool fromFloat) {
  if (fromFloat) {
    if (std::isnan(v))
      return 0;
    long double t = std::trunc(v);
    if (t <= static_cast<long double>(std::numeric_limits<I>::min()))
      return std::numeric_limits<I>::min();
    if (t >= static_cast<long double>(std::numeric_limits<I>::max()))
      return std::numeric_limits<I>::max();
    return static_cast<I>(t);
  }
  return static_cast<I>(static_cast<int64_t>(v));
}

/// Writes the expected bytes of converting element i of src to type dst.
void refConvert(const HostTensor &src, int64_t i, DType dst, uint8_t *out) {
  long double v = exactValue(src, i);
  bool fromFloat = isFloatType(src.dtype);
  auto put = [&](auto x) { std::memcpy(out, &x, sizeof x); };
  switch (dst) {
  case DType::F32:
    return put(static_cast<float>(v));
  case DType::F64:
    return put(static_cast<double>(v));
  case DType::F16:
    return put(encodeSmallFloatReference(v, 5));
  case DType::BF16:
    return put(encodeSmallFloatReference(v, 8));
  case DType::I64:
    return put(refToInt<int64_t>(v, fromFloat));
  case DType::I32:
    return put(refToInt<int32_t>(v, fromFloat));
  case DType::I16:
    return put(refToInt<int16_t>(v, fromFloat));
  case DType::I8:
    return put(refToInt<int8_t>(v, fromFloat));
  case DType::U8:
    return put(refToInt<uint8_t>(v, fromFloat));
  case DType::Bool:
    return put(static_cast<uint8_t>(v != 0 || std::isnan(v)));
  }
}

/// Edge-case values, plus random ones of many magnitudes.
std::vector<long double> floatSources() {
  std::vector<long double> v = {
      0.0, -0.0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 1.0 / 3, 127.9, 128,
      128.5, -128.7, -129, 255.5, 256, 300, 32767.5, 32768, -32769, 65504,
      65519.99, 65520, 65536, 1e5, 2147483647.0, 2147483648.0, -2147483649.0,
      1e10, -1e10, 9.3e18, -9.3e18, 3e38, -3.4e38, 1e-3, 6e-8, 3e-8, 2.98e-8,
      1e-40, -1e-44, 1e-300,
      // f16 ties: 1 + 2^-11 rounds down to even, 1 + 3 * 2^-11 up.
      1.00048828125, 1.00146484375,
      // bf16 ties likewise at 2^-8.
      1.00390625, 1.01171875,
      // f16 subnormal tie: 2^-25 (halfway to the smallest subnormal) and
      // 3 * 2^-25.
      2.98023223876953125e-8, 8.94069671630859375e-8, NAN, INFINITY, -INFINITY};
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n(0, 1);
  std::uniform_int_distribution<int> e(-30, 30);
  for (int i = 0; i < 3000; ++i)
    v.push_back(std::ldexp(n(rng), e(rng)));
  return v;
}

std::vector<int64_t> intSources() {
  std::vector<int64_t> v = {0,
                            1,
                            -1,
                            2,
                            127,
                            128,
                            -128,
                            -129,
                            255,
                            256,
                            32767,
                            32768,
                            -32768,
                            -32769,
                            65504,
                            65520,
                            (1 << 24) + 1,
                            2147483647,
                            -2147483648LL,
                            2147483648LL,
                            (1LL << 53) + 1,
                            (1LL << 62) + (1LL << 10) + 1,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  std::mt19937_64 rng(12);
  for (int i = 0; i < 3000; ++i)
    v.push_back(static_cast<int64_t>(rng()) >> (rng() % 63));
  return v;
}

/// A tensor of type t holding the sources, converted by the reference (so
/// the source itself does not depend on the kernel) and repeated to a size
/// that is split over the pool.
HostTensor sourceTensor(DType t) {
  HostTensor values;
  if (t == DType::Bool) {
    values = makeTensor<uint8_t>(DType::Bool, {4}, {0, 1, 1, 0});
  } else if (isFloatType(t)) {
    auto v = floatSources();
    HostTensor f64 =
        makeTensor<double>(DType::F64, {int64_t(v.size())},
                           std::vector<double>(v.begin(), v.end()));
    values = HostTensor(t, f64.shape);
    for (int64_t i = 0; i < f64.numel(); ++i)
      refConvert(f64, i, t, values.storage.data() + i * dtypeSize(t));
  } else {
    auto v = intSources();
    HostTensor i64 = makeTensor<int64_t>(DType::I64, {int64_t(v.size())}, v);
    values = HostTensor(t, i64.shape);
    for (int64_t i = 0; i < i64.numel(); ++i)
      refConvert(i64, i, t, values.storage.data() + i * dtypeSize(t));
  }
  int64_t reps = 20000 / values.numel() + 1;
  HostTensor out(t, {reps * values.numel()});
  for (int64_t r = 0; r < reps; ++r)
    std::memcpy(out.storage.data() + r * values.storage.size(),
                values.storage.data(), values.storage.size());
  return out;
}

bool isNaNElement(const HostTensor &t, int64_t i) {
  return isFloatType(t.dtype) && std::isnan(elementAsDouble(t, i));
}

TEST(Cast, EveryTypePairMatchesTheReference) {
  for (DType from : kAllTypes) {
    HostTensor src = sourceTensor(from);
    for (DType to : kAllTypes) {
      HostTensor expected(to, src.shape);
      for (int64_t i = 0; i < src.numel(); ++i)
        refConvert(src, i, to, expected.storage.data() + i * dtypeSize(to));
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(to, src.shape);
        backend::cast(src.view(), out.view(), pool);
        int bad = 0;
        size_t elem = dtypeSize(to);
        for (int64_t i = 0; i < src.numel() && bad < 5; ++i) {
          if (isNaNElement(expected, i) && isNaNElement(out, i))
            continue;
          if (std::memcmp(out.storage.data() + i * elem,
                          expected.storage.data() + i * elem, elem) != 0) {
            ++bad;
            ADD_FAILURE() << dtypeName(from) << " -> " << dtypeName(to)
                          << " element " << i << " (" << elementAsDouble(src, i)
                          << "): got " << elementAsDouble(out, i)
                          << ", expected " << elementAsDouble(expected, i);
          }
        }
      });
    }
  }
}

TEST(Cast, SixteenBitFloatsRoundTripExhaustively) {
  ThreadPool pool(2);
  for (DType t : {DType::F16, DType::BF16}) {
    HostTensor all(t, {65536});
    for (int i = 0; i < 65536; ++i)
      all.data<uint16_t>()[i] = static_cast<uint16_t>(i);
    for (DType wide : {DType::F32, DType::F64}) {
      HostTensor w(wide, all.shape), back(t, all.shape);
      backend::cast(all.view(), w.view(), pool);
      backend::cast(w.view(), back.view(), pool);
      for (int i = 0; i < 65536; ++i) {
        double v =
            decodeSmallFloat(static_cast<uint16_t>(i), t == DType::F16 ? 5 : 8);
        ASSERT_TRUE(std::isnan(v) ? std::isnan(elementAsDouble(w, i))
                                  : elementAsDouble(w, i) == v)
            << dtypeName(t) << " pattern " << i;
        if (!std::isnan(v))
          ASSERT_EQ(back.data<uint16_t>()[i], i)
              << dtypeName(t) << " via " << dtypeName(wide);
        else
          ASSERT_TRUE(std::isnan(elementAsDouble(back, i)));
      }
    }
  }
}

TEST(Cast, RandomBitPatternsRoundToNearestEven) {
  std::mt19937_64 rng(13);
  const int64_t n = 100000;
  HostTensor f32(DType::F32, {n}), f64(DType::F64, {n});
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = static_cast<uint32_t>(rng());
    std::memcpy(&f32.data<float>()[i], &u, 4);
    // Doubles near the 16-bit formats' ranges, with mantissa bits set far
    // below the f32 precision (where double rounding would show).
    f64.data<double>()[i] = std::ldexp(1.0 + double(rng() >> 12) * 0x1p-52,
                                       int(rng() % 300) - 150) *
                            ((rng() & 1) ? -1 : 1);
  }
  ThreadPool pool(2);
  for (const HostTensor *src : {&f32, &f64}) {
    for (DType t : {DType::F16, DType::BF16}) {
      HostTensor out(t, {n});
      backend::cast(src->view(), out.view(), pool);
      for (int64_t i = 0; i < n; ++i) {
        long double v = exactValue(*src, i);
        uint16_t expected =
            encodeSmallFloatReference(v, t == DType::F16 ? 5 : 8);
        if (std::isnan(v))
          ASSERT_TRUE(std::isnan(elementAsDouble(out, i)));
        else
          ASSERT_EQ(out.data<uint16_t>()[i], expected)
              << dtypeName(src->dtype) << " -> " << dtypeName(t) << " of "
              << double(v);
      }
    }
  }
}

TEST(Cast, RoundTripsThroughWiderTypes) {
  std::mt19937_64 rng(14);
  ThreadPool pool(3);
  HostTensor i32 = randomInt(DType::I32, {30000}, rng, INT32_MIN, INT32_MAX);
  HostTensor f32 = randomF32({30000}, rng, -1e6f, 1e6f);
  struct Trip {
    const HostTensor *src;
    DType via;
  };
  for (Trip trip : {Trip{&i32, DType::I64}, Trip{&i32, DType::F64},
                    Trip{&f32, DType::F64}}) {
    HostTensor mid(trip.via, trip.src->shape),
        back(trip.src->dtype, trip.src->shape);
    backend::cast(trip.src->view(), mid.view(), pool);
    backend::cast(mid.view(), back.view(), pool);
    EXPECT_EQ(back.storage, trip.src->storage)
        << dtypeName(trip.src->dtype) << " via " << dtypeName(trip.via);
  }
  HostTensor same(DType::F32, f32.shape);
  backend::cast(f32.view(), same.view(), pool);
  EXPECT_EQ(same.storage, f32.storage);
  HostTensor scalar = makeTensor<float>(DType::F32, {}, {-2.75f});
  HostTensor i8(DType::I8, {});
  backend::cast(scalar.view(), i8.view(), pool);
  EXPECT_EQ(i8.data<int8_t>()[0], -2);
  HostTensor wrong(DType::I8, {2});
  EXPECT_THROW(backend::cast(scalar.view(), wrong.view(), pool), KernelError);
}

} // namespace
