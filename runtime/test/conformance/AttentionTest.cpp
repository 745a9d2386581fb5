//===- AttentionTest.cpp - Conformance of fused attention and its gradient ===//
//
// Scaled dot-product attention and attention_grad with and without causal
// masking (Sq == Sk, Sq < Sk, Sq > Sk), with bool and additive masks of
// several broadcast shapes (with -inf entries), fully masked rows, Dv != D
// and few heads with many rows (split into row blocks), against a double
// reference, on 1-3 threads; the gradient also in bf16/fp16 against the
// double gradient of the rounded operands, within the low type's rounding.
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

/// Random operands of a case, a cotangent for the gradient, the mask and
/// its broadcast to [B, H, Sq, Sk] for the reference.
struct Problem {
  HostTensor q, k, v, g, mask;
  std::vector<double> fullMask;
  double scale;
};

Problem makeProblem(const AttentionCase &c, std::mt19937_64 &rng,
                    double pKeep) {
  Problem p{randomF32({c.b, c.h, c.sq, c.d}, rng),
            randomF32({c.b, c.h, c.sk, c.d}, rng),
            randomF32({c.b, c.h, c.sk, c.dv}, rng),
            randomF32({c.b, c.h, c.sq, c.dv}, rng),
            HostTensor(),
            {},
            1.0 / std::sqrt(double(c.d)) * 1.3};
  if (c.mask == MaskKind::None)
    return p;
  if (c.mask == MaskKind::Bool) {
    p.mask = randomBool(c.maskShape, rng, pKeep);
  } else {
    p.mask = randomF32(c.maskShape, rng, -2, 2);
    // Some -inf entries, as additive causal or padding masks have.
    for (int64_t i = 0; i < p.mask.numel(); i += 3)
      p.mask.data<float>()[i] = -INFINITY;
  }
  Shape full = {c.b, c.h, c.sq, c.sk};
  auto m = toDoubles(p.mask);
  for (int64_t i = 0; i < numElements(full); ++i)
    p.fullMask.push_back(m[broadcastSource(unravel(i, full), c.maskShape)]);
  return p;
}

std::string describe(const AttentionCase &c) {
  return "b" + std::to_string(c.b) + " h" + std::to_string(c.h) + " sq" +
         std::to_string(c.sq) + " sk" + std::to_string(c.sk) + " d" +
         std::to_string(c.d) + " dv" + std::to_string(c.dv) +
         (c.causal ? " causal" : "") + " mask " + std::to_string(int(c.mask)) +
         " " + shapeToString(c.maskShape);
}

TensorView maskOf(const AttentionCase &c, const Problem &p) {
  return c.mask == MaskKind::None ? noTensor() : p.mask.view();
}

/// attention and attention_grad of a case against the double reference.
void checkCase(const AttentionCase &c, std::mt19937_64 &rng,
               double pKeep = 0.7) {
  Problem p = makeProblem(c, rng, pKeep);
  const bool boolMask = c.mask == MaskKind::Bool;
  auto expected = refAttention(p.q, p.k, p.v, p.fullMask, boolMask, c.causal,
                               float(p.scale));
  auto grads = refAttentionGrad(p.q, p.k, p.v, p.g, p.fullMask, boolMask,
                                c.causal, p.scale);
  forEachPool([&](ThreadPool &pool) {
    // Garbage to overwrite.
    HostTensor out = randomF32({c.b, c.h, c.sq, c.dv}, rng);
    HostTensor dq = randomF32(p.q.shape, rng), dk = randomF32(p.k.shape, rng),
               dv = randomF32(p.v.shape, rng);
    backend::attention(p.q.view(), p.k.view(), p.v.view(), maskOf(c, p),
                       out.view(), c.causal, float(p.scale), pool);
    expectClose(out, expected, 1e-5, 1e-5, describe(c));
    backend::attentionGrad(p.q.view(), p.k.view(), p.v.view(), p.g.view(),
                           maskOf(c, p), dq.view(), dk.view(), dv.view(),
                           c.causal, float(p.scale), pool);
    expectClose(dq, grads.dq, 1e-4, 1e-5, describe(c) + " dq");
    expectClose(dk, grads.dk, 1e-4, 1e-5, describe(c) + " dk");
    expectClose(dv, grads.dv, 1e-4, 1e-5, describe(c) + " dv");
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
      {1, 2, 4, 6, 8, 0, true, MaskKind::None, {}},       // Dv == 0
      {1, 2, 4, 0, 8, 8, false, MaskKind::None, {}},      // no keys: zeros
      {1, 1, 100, 100, 16, 16, true, MaskKind::None, {}}, // row blocks
      {1, 1, 100, 130, 16, 8, false, MaskKind::None, {}},
      {1, 2, 130, 100, 16, 8, false, MaskKind::None, {}},
      {2, 12, 64, 64, 64, 64, true, MaskKind::None, {}},
      // Many pairs and long causal rows: 64-row causal blocks, last partial.
      {4, 6, 150, 170, 16, 16, true, MaskKind::None, {}},
  };
  for (const AttentionCase &c : cases)
    checkCase(c, rng);
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
    checkCase(c, rng);
  // Keep probability 0.2 over 3 keys leaves whole rows masked; they give 0
  // (and zero gradients).
  checkCase({2, 2, 16, 3, 4, 4, false, MaskKind::Bool, {2, 2, 16, 3}}, rng,
            0.2);
}

TEST(AttentionGrad, HalfOperandsWithinTheirRounding) {
  // bf16/fp16 q, k, v, g: the gradient of the rounded operands in double,
  // to within a few roundings of the low type relative to the largest
  // element (P and dS rounded for the products, each result once).
  std::mt19937_64 rng(73);
  for (DType half : {DType::BF16, DType::F16}) {
    const double eps = half == DType::BF16 ? 0x1p-8 : 0x1p-11;
    for (AttentionCase c :
         {AttentionCase{2, 3, 70, 70, 16, 16, true, MaskKind::None, {}},
          AttentionCase{
              1, 2, 9, 12, 8, 12, false, MaskKind::Additive, {1, 1, 9, 12}}}) {
      Problem p = makeProblem(c, rng, 0.7);
      HostTensor q = toHalf(p.q, half), k = toHalf(p.k, half),
                 v = toHalf(p.v, half), g = toHalf(p.g, half);
      auto expected =
          refAttentionGrad(q, k, v, g, p.fullMask, false, c.causal, p.scale);
      forEachPool([&](ThreadPool &pool) {
        HostTensor dq(half, q.shape), dk(half, k.shape), dv(half, v.shape);
        backend::attentionGrad(
            q.view(), k.view(), v.view(), g.view(),
            c.mask == MaskKind::None ? noTensor() : p.mask.view(), dq.view(),
            dk.view(), dv.view(), c.causal, float(p.scale), pool);
        for (auto [got, exact, name] : {std::tuple{&dq, &expected.dq, "dq"},
                                        {&dk, &expected.dk, "dk"},
                                        {&dv, &expected.dv, "dv"}}) {
          double largest = 0, worst = 0;
          for (size_t i = 0; i < exact->size(); ++i) {
            largest = std::max(largest, std::abs((*exact)[i]));
            worst = std::max(worst,
                             std::abs(elementAsDouble(*got, i) - (*exact)[i]));
          }
          EXPECT_LE(worst, 8 * eps * largest)
              << dtypeName(half) << " " << describe(c) << " " << name;
        }
      });
    }
  }
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

TEST(AttentionGrad, RejectsBadArguments) {
  ThreadPool pool(1);
  HostTensor q(DType::F32, {1, 1, 2, 4}), k(DType::F32, {1, 1, 3, 4});
  HostTensor v(DType::F32, {1, 1, 3, 4}), g(DType::F32, {1, 1, 2, 4});
  HostTensor dq(DType::F32, {1, 1, 2, 4}), dk(DType::F32, {1, 1, 3, 4});
  HostTensor dv(DType::F32, {1, 1, 3, 4}), badG(DType::F32, {1, 1, 3, 4});
  EXPECT_THROW(backend::attentionGrad(q.view(), k.view(), v.view(), badG.view(),
                                      noTensor(), dq.view(), dk.view(),
                                      dv.view(), false, 1.0f, pool),
               KernelError);
  EXPECT_THROW(backend::attentionGrad(q.view(), k.view(), v.view(), g.view(),
                                      noTensor(), dk.view(), dk.view(),
                                      dv.view(), false, 1.0f, pool),
               KernelError);
}

} // namespace
