//===- ScatterTest.cpp - scatter_add against a naive reference -----------===//
//
// scatter_add is gather's adjoint: every update slice is added at its index,
// repeated and negative indices included; results are identical on every
// thread count (accumulation order is fixed).
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

#include <gtest/gtest.h>

using namespace accel::rt;
using namespace accel::rt::conformance;

TEST(ScatterAdd, RepeatedAndNegativeIndicesAccumulateExceptSkipped) {
  std::mt19937_64 rng(71);
  struct Case {
    Shape out, indices;
    int64_t axis;
  };
  std::vector<Case> cases = {
      {{5, 4}, {7}, 0},       {{5, 4}, {2, 3}, 1}, {{3, 6, 2}, {4}, 1},
      {{7}, {10}, 0},         {{5, 4}, {}, 0},
      {{50, 300}, {4, 30}, 0}, // embedding-style, column blocks over the pool
  };
  for (DType it : {DType::I64, DType::I32}) {
    for (const Case &c : cases) {
      int64_t len = c.out[c.axis];
      HostTensor idx = randomInt(it, c.indices, rng, -len, len - 1);
      auto idxValues = toDoubles(idx);
      Shape updShape(c.out.begin(), c.out.begin() + c.axis);
      updShape.insert(updShape.end(), c.indices.begin(), c.indices.end());
      updShape.insert(updShape.end(), c.out.begin() + c.axis + 1, c.out.end());
      HostTensor upd = randomF32(updShape, rng);
      auto updValues = toDoubles(upd);

      // Naive: walk every update element and add it where it lands,
      // unless it lands on the skipped index (an embedding's padding row;
      // -1 counts from the end like the indices).
      for (std::optional<int64_t> skip : {std::optional<int64_t>(),
                                          std::optional<int64_t>(-1)}) {
        std::vector<double> expected(numElements(c.out), 0.0);
        size_t ir = c.indices.size();
        for (int64_t flat = 0; flat < numElements(updShape); ++flat) {
          std::vector<int64_t> u = unravel(flat, updShape);
          std::vector<int64_t> o(u.begin(), u.begin() + c.axis);
          std::vector<int64_t> ii(u.begin() + c.axis, u.begin() + c.axis + ir);
          int64_t v = static_cast<int64_t>(idxValues[ravel(ii, c.indices)]);
          v = v < 0 ? v + len : v;
          if (skip && v == len + *skip)
            continue;
          o.push_back(v);
          o.insert(o.end(), u.begin() + c.axis + ir, u.end());
          expected[ravel(o, c.out)] += updValues[flat];
        }
        std::vector<uint8_t> first;
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(DType::F32, c.out);
          backend::scatterAdd(upd.view(), idx.view(), out.view(), c.axis, pool,
                              skip);
          expectClose(out, expected, 1e-5, 1e-6,
                      "out " + shapeToString(c.out) + " axis " +
                          std::to_string(c.axis) +
                          (skip ? " skipping the last index" : ""));
          if (first.empty())
            first = out.storage;
          else
            EXPECT_EQ(out.storage, first) << "differs across thread counts";
        });
      }
    }
  }
}

TEST(ScatterAdd, OutOfRangeIndexIsAnError) {
  ThreadPool pool(2);
  HostTensor upd(DType::F32, {2, 4});
  HostTensor idx = makeTensor<int64_t>(DType::I64, {2}, {1, 5});
  HostTensor out(DType::F32, {5, 4});
  EXPECT_THROW(backend::scatterAdd(upd.view(), idx.view(), out.view(), 0, pool),
               KernelError);
}

// With init the slices are added into init's values (a tied embedding's
// gradient added into the head's), into a copy or in init's own buffer.
TEST(ScatterAdd, AddsIntoInitInPlaceOrCopied) {
  std::mt19937_64 rng(4);
  HostTensor upd = randomF32({3, 4}, rng, -1, 1);
  HostTensor idx = makeTensor<int64_t>(DType::I64, {3}, {2, 0, 2});
  HostTensor init = randomF32({5, 4}, rng, -1, 1);
  std::vector<double> expected = toDoubles(init);
  for (int64_t j = 0; j < 3; ++j)
    for (int64_t c = 0; c < 4; ++c)
      expected[idx.data<int64_t>()[j] * 4 + c] += upd.data<float>()[j * 4 + c];
  forEachPool([&](ThreadPool &pool) {
    HostTensor copied(DType::F32, {5, 4});
    TensorView from = init.view();
    backend::scatterAdd(upd.view(), idx.view(), copied.view(), 0, pool,
                        std::nullopt, &from);
    expectClose(copied, expected, 1e-6, 1e-7, "into a copy of init");
    HostTensor inPlace = init;
    TensorView view = inPlace.view();
    backend::scatterAdd(upd.view(), idx.view(), view, 0, pool, std::nullopt,
                        &view);
    EXPECT_EQ(inPlace.storage, copied.storage);
  });
}
