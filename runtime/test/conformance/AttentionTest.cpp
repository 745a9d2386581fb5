//===- AttentionTest.cpp - Conformance of fused attention -----------------===//
//
// Scaled dot-product attention with and without causal masking (Sq == Sk,
// Sq < Sk, Sq > Sk), with bool and additive masks of several broadcast
// shapes, fully masked rows, Dv != D and few heads with many rows (split into
// row blocks), against a double reference.
//
//===----------------------------------------------------------------------===//
#include "Backend.h"
#include "Reference.h"

using namespace accel::rt;
using namespace accel::rt::conformance;

namespace {

enum class MaskKind { None, Bool, Additive };

struct AttentionCase {
  int64_t b, h, sq, sk, d, dv;
  bool causal;
  MaskKind mask;
  Shape maskShape;
};

void checkAttention(const AttentionCase &c, std::mt19937_64 &rng,
                    double pKeep = 0.7) {
  HostTensor q = randomF32({c.b, c.h, c.sq, c.d}, rng);
  HostTensor k = randomF32({c.b, c.h, c.sk, c.d}, rng);
  HostTensor v = randomF32({c.b, c.h, c.sk, c.dv}, rng);
  HostTensor mask;
  std::vector<double> fullMask;
  if (c.mask != MaskKind::None) {
    if (c.mask == MaskKind::Bool) {
      mask = randomBool(c.maskShape, rng, pKeep);
    } else {
      mask = randomF32(c.maskShape, rng, -2, 2);
      // Some -inf entries, as additive causal or padding masks have.
      for (int64_t i = 0; i < mask.numel(); i += 3)
        mask.data<float>()[i] = -INFINITY;
    }
    Shape full = {c.b, c.h, c.sq, c.sk};
    auto m = toDoubles(mask);
    for (int64_t i = 0; i < numElements(full); ++i)
      fullMask.push_back(m[broadcastSource(unravel(i, full), c.maskShape)]);
  }
  double scale = 1.0 / std::sqrt(double(c.d)) * 1.3;
  auto expected = refAttention(q, k, v, fullMask, c.mask == MaskKind::Bool,
                               c.causal, float(scale));
  std::string what = "b" + std::to_string(c.b) + " h" + std::to_string(c.h) +
                     " sq" + std::to_string(c.sq) + " sk" +
                     std::to_string(c.sk) + (c.causal ? " causal" : "") +
                     " mask " + std::to_string(int(c.mask)) + " " +
                     shapeToString(c.maskShape);
  forEachPool([&](ThreadPool &pool) {
    HostTensor out =
        randomF32({c.b, c.h, c.sq, c.dv}, rng); // garbage to overwrite
    backend::attention(q.view(), k.view(), v.view(),
                       c.mask == MaskKind::None ? noTensor() : mask.view(),
                       out.view(), c.causal, float(scale), pool);
    expectClose(out, expected, 1e-5, 1e-5, what);
  });
}

TEST(Attention, CausalAndUnmasked) {
  std::mt19937_64 rng(61);
  std::vector<AttentionCase> cases = {
      {2, 3, 5, 5, 8, 8, false, MaskKind::None, {}},
      {2, 3, 5, 5, 8, 8, true, MaskKind::None, {}},
      {1, 2, 3, 7, 16, 16, true, MaskKind::None, {}}, // Sq < Sk
      {2, 2, 1, 9, 8, 8, true, MaskKind::None, {}},   // one new token
      {1, 1, 6, 4, 8, 8, true, MaskKind::None, {}}, // Sq > Sk: first rows empty
      {1, 2, 4, 6, 8, 12, false, MaskKind::None, {}},     // Dv != D
      {1, 1, 100, 100, 16, 16, true, MaskKind::None, {}}, // row blocks
      {1, 1, 100, 130, 16, 8, false, MaskKind::None, {}},
      {2, 12, 64, 64, 64, 64, true, MaskKind::None, {}},
      // Many pairs and long causal rows: 64-row causal blocks, last partial.
      {4, 6, 150, 170, 16, 16, true, MaskKind::None, {}},
  };
  for (const AttentionCase &c : cases)
    checkAttention(c, rng);
}

TEST(Attention, BoolAndAdditiveMasks) {
  std::mt19937_64 rng(62);
  std::vector<AttentionCase> cases = {
      {2, 3, 5, 7, 8, 8, false, MaskKind::Bool, {2, 1, 1, 7}}, // padding
      {2, 3, 5, 7, 8, 8, false, MaskKind::Bool, {5, 7}},
      {2, 3, 5, 7, 8, 8, true, MaskKind::Bool, {2, 3, 5, 7}},
      {2, 3, 5, 7, 8, 8, false, MaskKind::Bool, {2, 1, 5, 1}}, // row mask
      {2, 3, 5, 7, 8, 8, false, MaskKind::Additive, {2, 3, 5, 7}},
      {2, 3, 5, 7, 8, 8, true, MaskKind::Additive, {1, 7}},
      {1, 1, 80, 80, 16, 16, true, MaskKind::Additive, {80, 80}},
  };
  for (const AttentionCase &c : cases)
    checkAttention(c, rng);
  // Keep probability 0.2 over 3 keys leaves whole rows masked; they give 0.
  checkAttention({2, 2, 16, 3, 4, 4, false, MaskKind::Bool, {2, 2, 16, 3}}, rng,
                 0.2);
}

TEST(Attention, RejectsBadArguments) {
  ThreadPool pool(1);
  HostTensor q(DType::F32, {1, 1, 2, 4}), k(DType::F32, {1, 1, 3, 4});
  HostTensor v(DType::F32, {1, 1, 3, 4}), out(DType::F32, {1, 1, 2, 4});
  HostTensor badK(DType::F32, {1, 1, 3, 5});
  EXPECT_THROW(backend::attention(q.view(), badK.view(), v.view(), noTensor(),
                                  out.view(), false, 1.0f, pool),
               KernelError);
  HostTensor intMask(DType::I32, {2, 3});
  EXPECT_THROW(backend::attention(q.view(), k.view(), v.view(), intMask.view(),
                                  out.view(), false, 1.0f, pool),
               KernelError);
  HostTensor badMask(DType::Bool, {4, 3});
  EXPECT_THROW(backend::attention(q.view(), k.view(), v.view(), badMask.view(),
                                  out.view(), false, 1.0f, pool),
               KernelError);
}

} // namespace
