//===- CumSumTest.cpp - cumsum against a naive reference -----------------===//
//
// Every axis position, inclusive and exclusive, forward and reversed, for
// f32 (summed in double, so within one rounding of the exact sum) and the
// integer types (exact; i32 wraps).
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

#include <gtest/gtest.h>

#include <random>

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

/// The reference: walk each line along the axis in the summing order.
std::vector<double> refCumsum(const std::vector<double> &x, const Shape &shape,
                              int64_t axis, bool exclusive, bool reverse) {
  std::vector<double> out(x.size());
  int64_t len = shape[axis], total = numElements(shape);
  for (int64_t flat = 0; flat < total; ++flat) {
    std::vector<int64_t> at = unravel(flat, shape);
    double sum = 0;
    for (int64_t j = 0; j < len; ++j) {
      bool before = reverse ? j > at[axis] : j < at[axis];
      if (before || (!exclusive && j == at[axis])) {
        std::vector<int64_t> from = at;
        from[axis] = j;
        sum += x[ravel(from, shape)];
      }
    }
    out[flat] = sum;
  }
  return out;
}

} // namespace

TEST(CumSum, EveryAxisAndModeMatchesTheReference) {
  std::mt19937_64 rng(17);
  const std::vector<Shape> shapes = {{7}, {3, 5}, {2, 16}, {2, 3, 4}, {1, 300, 3}};
  for (DType t : {DType::F32, DType::I64, DType::I32}) {
    for (const Shape &shape : shapes) {
      HostTensor x = t == DType::F32 ? randomF32(shape, rng)
                                     : randomInt(t, shape, rng, -50, 50);
      auto values = toDoubles(x);
      for (int64_t axis = 0; axis < static_cast<int64_t>(shape.size()); ++axis)
        for (bool exclusive : {false, true})
          for (bool reverse : {false, true}) {
            std::string what = std::string(dtypeName(t)) + " " +
                               shapeToString(shape) + " axis " +
                               std::to_string(axis) +
                               (exclusive ? " exclusive" : "") +
                               (reverse ? " reverse" : "");
            auto expected = refCumsum(values, shape, axis, exclusive, reverse);
            forEachPool([&](ThreadPool &pool) {
              HostTensor out(t, shape);
              backend::cumsum(x.view(), out.view(), axis, exclusive, reverse,
                              pool);
              if (t == DType::F32)
                expectClose(out, expected, 1e-7, 1e-7, what);
              else
                expectClose(out, expected, 0, 0, what);
            });
          }
    }
  }
}

TEST(CumSum, IntegersWrapAndOtherTypesAreRefused) {
  ThreadPool pool(1);
  HostTensor x = makeTensor<int32_t>(DType::I32, {3}, {2147483647, 1, 1});
  HostTensor out(DType::I32, {3});
  backend::cumsum(x.view(), out.view(), 0, false, false, pool);
  EXPECT_EQ(out.data<int32_t>()[1], -2147483647 - 1);
  EXPECT_EQ(out.data<int32_t>()[2], -2147483647);
  HostTensor b(DType::Bool, {3}), bo(DType::Bool, {3});
  EXPECT_THROW(backend::cumsum(b.view(), bo.view(), 0, false, false, pool),
               KernelError);
}
