//===- DataMovementTest.cpp - Conformance of copies, slices and gathers ---===//
//
// Transpose, slice (negative steps included), concat, broadcastTo, copy and
// gather on several element sizes, compared byte for byte with references
// that map every output index to its source index.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

#include <numeric>

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

/// Random bytes of type t (Bool kept to 0/1).
HostTensor randomBytes(DType t, const Shape &s, std::mt19937_64 &rng) {
  HostTensor h(t, s);
  for (auto &b : h.storage)
    b = static_cast<uint8_t>(rng());
  if (t == DType::Bool)
    for (auto &b : h.storage)
      b &= 1;
  return h;
}

const DType kElementTypes[] = {DType::F32, DType::U8, DType::F16, DType::I64};

TEST(Transpose, PermutationsAndElementSizes) {
  std::mt19937_64 rng(41);
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;
  };
  std::vector<Case> cases = {
      {{}, {}},
      {{7}, {0}},
      {{33, 70}, {1, 0}},
      {{2, 300, 200}, {0, 2, 1}},
      {{2, 3, 4, 5}, {0, 2, 1, 3}},
      {{2, 3, 4, 5}, {0, 2, 3, 1}},
      {{2, 3, 4, 5}, {3, 2, 1, 0}},
      {{1, 5, 1, 6}, {3, 1, 2, 0}},
      {{4, 64, 12, 16}, {0, 2, 1, 3}},
  };
  std::vector<int64_t> perm3 = {0, 1, 2};
  do
    cases.push_back({{3, 4, 5}, perm3});
  while (std::next_permutation(perm3.begin(), perm3.end()));

  for (DType t : kElementTypes) {
    for (const Case &c : cases) {
      HostTensor x = randomBytes(t, c.shape, rng);
      Shape outShape;
      for (int64_t p : c.perm)
        outShape.push_back(c.shape[p]);
      HostTensor expected =
          refMove(x, outShape, [&](const std::vector<int64_t> &o) {
            std::vector<int64_t> in(c.shape.size());
            for (size_t k = 0; k < c.perm.size(); ++k)
              in[c.perm[k]] = o[k];
            return ravel(in, c.shape);
          });
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, outShape);
        backend::transpose(x.view(), out.view(), c.perm, pool);
        ASSERT_EQ(out.storage, expected.storage)
            << dtypeName(t) << " " << shapeToString(c.shape);
      });
    }
  }
  ThreadPool pool(1);
  HostTensor x(DType::F32, {2, 3}), out(DType::F32, {3, 2});
  EXPECT_THROW(backend::transpose(x.view(), out.view(), {0, 0}, pool),
               KernelError);
  EXPECT_THROW(backend::transpose(x.view(), out.view(), {0, 1}, pool),
               KernelError);
}

TEST(Slice, StartsAndSignedSteps) {
  std::mt19937_64 rng(42);
  struct Case {
    Shape in, out;
    std::vector<int64_t> starts, steps;
  };
  std::vector<Case> cases = {
      {{}, {}, {}, {}},
      {{10}, {10}, {9}, {-1}},
      {{10}, {4}, {1}, {2}},
      {{6, 8}, {3, 3}, {1, 7}, {2, -3}},
      {{4, 5, 6}, {4, 2, 3}, {0, 1, 0}, {1, 2, 2}},
      {{4, 5, 6}, {2, 5, 6}, {3, 0, 0}, {-2, 1, 1}},
      {{4, 5, 6}, {4, 5, 2}, {0, 4, 5}, {1, -1, -5}},
      {{3, 100000}, {2, 50000}, {1, 99999}, {1, -2}},
      {{300, 400}, {300, 200}, {0, 0}, {1, 1}},
  };
  for (DType t : kElementTypes) {
    for (const Case &c : cases) {
      HostTensor x = randomBytes(t, c.in, rng);
      HostTensor expected =
          refMove(x, c.out, [&](const std::vector<int64_t> &o) {
            std::vector<int64_t> in(o.size());
            for (size_t k = 0; k < o.size(); ++k)
              in[k] = c.starts[k] + o[k] * c.steps[k];
            return ravel(in, c.in);
          });
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, c.out);
        backend::slice(x.view(), out.view(), c.starts, c.steps, pool);
        ASSERT_EQ(out.storage, expected.storage)
            << dtypeName(t) << " " << shapeToString(c.in) << " -> "
            << shapeToString(c.out);
      });
    }
  }
  ThreadPool pool(1);
  HostTensor x(DType::F32, {10}), out(DType::F32, {4});
  EXPECT_THROW(backend::slice(x.view(), out.view(), {8}, {1}, pool),
               KernelError);
  EXPECT_THROW(backend::slice(x.view(), out.view(), {2}, {-1}, pool),
               KernelError);
}

TEST(Concat, AxesAndInputCounts) {
  std::mt19937_64 rng(43);
  struct Case {
    std::vector<Shape> inputs;
    int64_t axis;
  };
  std::vector<Case> cases = {
      {{{3}, {4}, {1}}, 0},
      {{{2, 3, 4}, {5, 3, 4}}, 0},
      {{{2, 3, 4}, {2, 1, 4}, {2, 2, 4}}, 1},
      {{{2, 3, 4}, {2, 3, 7}}, 2},
      {{{2, 3, 4}}, 1},
      {{{1000, 64}, {1000, 32}, {1000, 64}}, 1},
      {{{2, 0, 4}, {2, 3, 4}}, 1},
  };
  for (DType t : kElementTypes) {
    for (const Case &c : cases) {
      std::vector<HostTensor> inputs;
      std::vector<TensorView> views;
      Shape outShape = c.inputs[0];
      outShape[c.axis] = 0;
      for (const Shape &s : c.inputs) {
        inputs.push_back(randomBytes(t, s, rng));
        outShape[c.axis] += s[c.axis];
      }
      for (const HostTensor &h : inputs)
        views.push_back(h.view());
      HostTensor expected(t, outShape);
      size_t elem = dtypeSize(t);
      for (int64_t i = 0; i < expected.numel(); ++i) {
        auto idx = unravel(i, outShape);
        size_t k = 0;
        while (idx[c.axis] >= c.inputs[k][c.axis])
          idx[c.axis] -= c.inputs[k++][c.axis];
        std::memcpy(expected.storage.data() + i * elem,
                    inputs[k].storage.data() + ravel(idx, c.inputs[k]) * elem,
                    elem);
      }
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, outShape);
        backend::concat(views, out.view(), c.axis, pool);
        ASSERT_EQ(out.storage, expected.storage)
            << dtypeName(t) << " axis " << c.axis << " -> "
            << shapeToString(outShape);
      });
    }
  }
  ThreadPool pool(1);
  HostTensor a(DType::F32, {2, 3}), b(DType::F32, {3, 3}),
      out(DType::F32, {2, 6});
  EXPECT_THROW(backend::concat({a.view(), b.view()}, out.view(), 1, pool),
               KernelError);
  HostTensor c(DType::I32, {2, 3});
  EXPECT_THROW(backend::concat({a.view(), c.view()}, out.view(), 1, pool),
               KernelError);
}

TEST(BroadcastTo, RanksAndElementSizes) {
  std::mt19937_64 rng(44);
  std::vector<std::pair<Shape, Shape>> cases = {
      {{}, {5}},           {{3, 1}, {2, 3, 4}}, {{4}, {3, 4}},
      {{2, 3}, {2, 3}},    {{1, 1}, {1, 1}},    {{1, 4, 1}, {3, 4, 5000}},
      {{7, 1}, {7, 9000}},
  };
  for (DType t : kElementTypes) {
    for (const auto &[in, outShape] : cases) {
      HostTensor x = randomBytes(t, in, rng);
      HostTensor expected =
          refMove(x, outShape, [&](const std::vector<int64_t> &o) {
            return broadcastSource(o, in);
          });
      forEachPool([&](ThreadPool &pool) {
        HostTensor out(t, outShape);
        backend::broadcastTo(x.view(), out.view(), pool);
        ASSERT_EQ(out.storage, expected.storage)
            << dtypeName(t) << " " << shapeToString(in) << " -> "
            << shapeToString(outShape);
      });
    }
  }
  ThreadPool pool(1);
  HostTensor x(DType::F32, {3}), out(DType::F32, {2, 4});
  EXPECT_THROW(backend::broadcastTo(x.view(), out.view(), pool), KernelError);
}

TEST(Copy, BytesOfAnyShape) {
  std::mt19937_64 rng(45);
  for (int64_t n : {0, 1, 13, 1 << 20}) {
    HostTensor x = randomBytes(DType::U8, {n}, rng);
    forEachPool([&](ThreadPool &pool) {
      HostTensor out(DType::F32, {n / 4}); // reshape-style copies may retype
      HostTensor same(DType::U8, {n});
      backend::copy(x.view(), same.view(), pool);
      EXPECT_EQ(same.storage, x.storage);
      if (n % 4 == 0) {
        backend::copy(x.view(), out.view(), pool);
        EXPECT_EQ(out.storage, x.storage);
      }
    });
  }
  ThreadPool pool(1);
  HostTensor a(DType::F32, {3}), b(DType::F32, {4});
  EXPECT_THROW(backend::copy(a.view(), b.view(), pool), KernelError);
}

TEST(Gather, AxesIndexTypesAndNegativeIndices) {
  std::mt19937_64 rng(46);
  struct Case {
    Shape data, indices;
    int64_t axis;
  };
  std::vector<Case> cases = {
      {{5, 4}, {3}, 0},          {{5, 4}, {2, 3}, 1},    {{5, 4}, {}, 0},
      {{3, 6, 2}, {4}, 1},       {{3, 6, 2}, {2, 2}, 2}, {{7}, {10}, 0},
      {{1000, 64}, {4, 300}, 0}, // embedding-style, split over the pool
  };
  for (DType t : {DType::F32, DType::U8, DType::I64}) {
    for (DType it : {DType::I64, DType::I32}) {
      for (const Case &c : cases) {
        HostTensor data = randomBytes(t, c.data, rng);
        int64_t len = c.data[c.axis];
        HostTensor idx = randomInt(it, c.indices, rng, -len, len - 1);
        auto idxValues = toDoubles(idx);
        Shape outShape(c.data.begin(), c.data.begin() + c.axis);
        outShape.insert(outShape.end(), c.indices.begin(), c.indices.end());
        outShape.insert(outShape.end(), c.data.begin() + c.axis + 1,
                        c.data.end());
        size_t ir = c.indices.size();
        HostTensor expected =
            refMove(data, outShape, [&](const std::vector<int64_t> &o) {
              std::vector<int64_t> in(o.begin(), o.begin() + c.axis);
              std::vector<int64_t> ii(o.begin() + c.axis,
                                      o.begin() + c.axis + ir);
              int64_t v = static_cast<int64_t>(idxValues[ravel(ii, c.indices)]);
              in.push_back(v < 0 ? v + len : v);
              in.insert(in.end(), o.begin() + c.axis + ir, o.end());
              return ravel(in, c.data);
            });
        forEachPool([&](ThreadPool &pool) {
          HostTensor out(t, outShape);
          backend::gather(data.view(), idx.view(), out.view(), c.axis, pool);
          ASSERT_EQ(out.storage, expected.storage)
              << dtypeName(t) << " indices " << dtypeName(it) << " data "
              << shapeToString(c.data) << " axis " << c.axis;
        });
      }
    }
  }
}

TEST(Gather, OutOfRangeIndexNamesIndexAndPosition) {
  ThreadPool pool(2);
  HostTensor data(DType::F32, {5, 4});
  HostTensor idx = makeTensor<int64_t>(DType::I64, {2, 2}, {0, 4, -5, 5});
  HostTensor out(DType::F32, {2, 2, 4});
  try {
    backend::gather(data.view(), idx.view(), out.view(), 0, pool);
    ADD_FAILURE() << "expected a KernelError";
  } catch (const KernelError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("index 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 1]"), std::string::npos) << msg;
  }
  HostTensor neg = makeTensor<int32_t>(DType::I32, {1}, {-6});
  HostTensor out1(DType::F32, {1, 4});
  EXPECT_THROW(backend::gather(data.view(), neg.view(), out1.view(), 0, pool),
               KernelError);
  HostTensor f = makeTensor<float>(DType::F32, {1}, {0.0f});
  EXPECT_THROW(backend::gather(data.view(), f.view(), out1.view(), 0, pool),
               KernelError);
}

} // namespace
