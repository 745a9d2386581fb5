//===- LossScaleTest.cpp - GradScaler's unscale_ and update kernels -------===//
//
// unscale_gradients and update_loss_scale against what
// torch.amp.GradScaler specifies: the gradient times the inverse scale,
// found_inf from the elements (not from a norm), and the scale's back-off,
// growth and growth tracker.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

#include <cmath>
#include <limits>
#include <random>

namespace accel::rt::conformance {
namespace {

struct Unscaled {
  std::vector<HostTensor> out;
  bool foundInf;
};

Unscaled unscale(std::vector<HostTensor> &grads, float inv, ThreadPool &pool,
                 bool inPlace) {
  HostTensor invScale = makeTensor<float>(DType::F32, {}, {inv});
  HostTensor found(DType::Bool, {});
  Unscaled r;
  std::vector<TensorView> in, out;
  for (HostTensor &g : grads) {
    r.out.push_back(inPlace ? HostTensor() : HostTensor(DType::F32, g.shape));
    in.push_back(g.view());
  }
  for (size_t i = 0; i < grads.size(); ++i)
    out.push_back(inPlace ? grads[i].view() : r.out[i].view());
  backend::unscaleGradients(invScale.view(), in, found.view(), out, pool);
  r.foundInf = found.data<uint8_t>()[0] != 0;
  return r;
}

TEST(LossScale, UnscaleMultipliesAndFindsNonFiniteElements) {
  std::mt19937_64 rng(61);
  for (bool inPlace : {false, true})
    forEachPool([&](ThreadPool &pool) {
      // Finite gradients, one of 1e38: its square overflows, which a
      // norm-based check would take for an inf; GradScaler does not.
      std::vector<HostTensor> grads = {randomF32({300, 257}, rng),
                                       randomF32({70000}, rng)};
      grads[1].data<float>()[12345] = 1e38f;
      std::vector<HostTensor> before = grads;
      const float inv = 1.0f / 65536.0f;
      Unscaled r = unscale(grads, inv, pool, inPlace);
      EXPECT_FALSE(r.foundInf);
      for (size_t t = 0; t < grads.size(); ++t) {
        const HostTensor &got = inPlace ? grads[t] : r.out[t];
        for (int64_t i = 0; i < got.numel(); ++i)
          ASSERT_EQ(got.data<float>()[i], before[t].data<float>()[i] * inv)
              << "tensor " << t << " element " << i;
      }
      // One inf or NaN anywhere (last element of the second tensor) is
      // found.
      for (float bad : {std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN()}) {
        std::vector<HostTensor> g = before;
        g[1].data<float>()[g[1].numel() - 1] = bad;
        EXPECT_TRUE(unscale(g, inv, pool, inPlace).foundInf) << bad;
      }
    });
}

struct ScaleState {
  float scale;
  int64_t tracker;
};

ScaleState update(ScaleState s, bool foundInf, int64_t interval) {
  HostTensor scale = makeTensor<float>(DType::F32, {}, {s.scale});
  HostTensor tracker = makeTensor<int64_t>(DType::I64, {}, {s.tracker});
  HostTensor found(DType::Bool, {});
  found.data<uint8_t>()[0] = foundInf;
  HostTensor newScale(DType::F32, {}), newTracker(DType::I64, {});
  backend::updateLossScale(scale.view(), tracker.view(), found.view(),
                           newScale.view(), newTracker.view(),
                           {2.0, 0.5, interval});
  return {newScale.data<float>()[0], newTracker.data<int64_t>()[0]};
}

TEST(LossScale, UpdateBacksOffGrowsAndCounts) {
  // Three finite steps with growth_interval 3: the tracker counts 1, 2,
  // then the scale doubles and the tracker restarts.
  ScaleState s{65536.0f, 0};
  s = update(s, false, 3);
  EXPECT_EQ(s.scale, 65536.0f);
  EXPECT_EQ(s.tracker, 1);
  s = update(s, false, 3);
  EXPECT_EQ(s.tracker, 2);
  s = update(s, false, 3);
  EXPECT_EQ(s.scale, 131072.0f);
  EXPECT_EQ(s.tracker, 0);
  // An inf halves the scale and resets the count.
  s = update({131072.0f, 2}, true, 3);
  EXPECT_EQ(s.scale, 65536.0f);
  EXPECT_EQ(s.tracker, 0);
  // Growth past fp32's range keeps the scale (the tracker restarts).
  float big = std::numeric_limits<float>::max() / 1.5f;
  s = update({big, 0}, false, 1);
  EXPECT_EQ(s.scale, big);
  EXPECT_EQ(s.tracker, 0);
}

} // namespace
} // namespace accel::rt::conformance
