//===- AttentionGrad.cpp - The gradient of scaled dot-product attention ---===//
//
// Per (batch, head) pair, one block of query rows at a time: P again (with
// the forward kernel's AttentionScores::probabilities), dP = G V^T, dV += P^T
// G, dS = P (dP - rowsum(dP P)) scale, dQ = dS K, dK += dS^T Q. Only a block's
// P and dP exist at once (rows x Sk per thread), never the [B, H, Sq, Sk]
// tensors of the decomposed graph. dK and dV are summed over the blocks in fp32
// (in the result for fp32; in a per-thread buffer rounded once for bf16/fp16,
// where P and dS are rounded to the operands' type for the products, as the
// forward rounds P).
//
//===----------------------------------------------------------------------===//
#include "AttentionScores.h"
#include "CpuKernels.h"

#include <cstring>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Query rows per block: each block's P and dP are rows x Sk floats.
constexpr int64_t kRowBlock = 64;

/// row-major C (m x n, fp32) = or += op(A) op(B) of the operands' type `t`,
/// with fp32 sums.
void product(DType t, bool transA, bool transB, int64_t m, int64_t n, int64_t k,
             const void *a, int64_t lda, const void *b, int64_t ldb,
             bool accumulate, float *c, int64_t ldc) {
  if (t == DType::F32)
    sgemm(transA, transB, m, n, k, 1.0f, static_cast<const float *>(a), lda,
          static_cast<const float *>(b), ldb, accumulate ? 1.0f : 0.0f, c, ldc);
  else
    gemmHalf(t, transA, transB, m, n, k, static_cast<const uint16_t *>(a), lda,
             static_cast<const uint16_t *>(b), ldb, accumulate, c, DType::F32,
             ldc);
}

} // namespace

void attentionGrad(const TensorView &q, const TensorView &k,
                   const TensorView &v, const TensorView &grad,
                   const TensorView &mask, const TensorView &dq,
                   const TensorView &dk, const TensorView &dv, bool causal,
                   float scale, ThreadPool &pool) {
  const char *kernel = "attention_grad";
  const AttentionScores scores(kernel, q, k, v, mask, grad, "grad", causal,
                               scale, pool);
  for (auto [result, operand] : {std::pair{&dq, &q}, {&dk, &k}, {&dv, &v}})
    require(result->dtype == operand->dtype && result->shape == operand->shape,
            kernel, "dq, dk and dv must be shaped and typed as q, k and v");
  const DType type = scores.type();
  const bool half = scores.half();
  const int64_t sq = scores.queries(), sk = scores.keys(), d = scores.dim(),
                dvDim = scores.valueDim();
  const int64_t elem = dtypeSize(type);
  const int64_t rowBlock = scores.rowBlock(kRowBlock);
  const auto *pq = static_cast<const char *>(q.data);
  const auto *pk = static_cast<const char *>(k.data);
  const auto *pv = static_cast<const char *>(v.data);
  const auto *pg = static_cast<const char *>(grad.data);
  auto *pdq = static_cast<char *>(dq.data);
  auto *pdk = static_cast<char *>(dk.data);
  auto *pdv = static_cast<char *>(dv.data);
  if (sq == 0 || sk == 0) { // nothing attended: zero gradients
    for (const TensorView *t : {&dq, &dk, &dv})
      if (t->numel())
        std::memset(t->data, 0, t->bytes());
    return;
  }
  ensureBlasSingleThreaded();

  pool.parallelFor(scores.pairs(), 1, [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> p, dp, dq32, dk32, dv32;
    thread_local std::vector<uint16_t> pLow, dsLow;
    if (half)
      oneOpenMPThread();
    auto grow = [](auto &buffer, int64_t n) {
      if (buffer.size() < static_cast<size_t>(n))
        buffer.resize(n);
      return buffer.data();
    };
    // An fp32 block as a product's operand: itself, or rounded to the
    // operands' type in `low`.
    auto operand = [&](const float *x, std::vector<uint16_t> &low,
                       int64_t n) -> const void * {
      if (!half)
        return x;
      uint16_t *rounded = grow(low, n);
      for (int64_t j = 0; j < n; ++j)
        rounded[j] = floatToHalfBits(type, x[j]);
      return rounded;
    };
    for (int64_t pair = u0; pair < u1; ++pair) {
      const char *kPair = pk + pair * sk * d * elem;
      const char *vPair = pv + pair * sk * dvDim * elem;
      // dK and dV summed over the query blocks: in the result for fp32, in
      // fp32 buffers for bf16/fp16.
      float *dkSum =
          half ? grow(dk32, sk * d)
               : reinterpret_cast<float *>(pdk + pair * sk * d * elem);
      float *dvSum =
          half ? grow(dv32, sk * dvDim)
               : reinterpret_cast<float *>(pdv + pair * sk * dvDim * elem);
      if (d > 0) // (an empty buffer may have no address)
        std::memset(dkSum, 0, sk * d * sizeof(float));
      if (dvDim > 0)
        std::memset(dvSum, 0, sk * dvDim * sizeof(float));
      for (int64_t i0 = 0; i0 < sq; i0 += rowBlock) {
        const int64_t rows = std::min(rowBlock, sq - i0);
        const char *qBlock = pq + (pair * sq + i0) * d * elem;
        const char *gBlock = pg + (pair * sq + i0) * dvDim * elem;
        char *dqBlock = pdq + (pair * sq + i0) * d * elem;
        const int64_t kLen = scores.keyLength(i0, rows);
        if (kLen == 0) { // these rows see no key: their dQ is zero
          std::memset(dqBlock, 0, rows * d * elem);
          continue;
        }
        float *pb = grow(p, rows * kLen), *dpb = grow(dp, rows * kLen);
        scores.probabilities(pair, i0, rows, kLen, pb);
        // dP = G V^T; dV += P^T G (P rounded as the forward's P V).
        if (dvDim == 0) {
          std::memset(dpb, 0, rows * kLen * sizeof(float));
        } else {
          product(type, false, true, rows, kLen, dvDim, gBlock, dvDim, vPair,
                  dvDim, false, dpb, kLen);
          const void *pOperand = operand(pb, pLow, rows * kLen);
          product(type, true, false, kLen, dvDim, rows, pOperand, kLen, gBlock,
                  dvDim, true, dvSum, dvDim);
        }
        // dS = P (dP - rowsum(dP P)) scale, over dP.
        for (int64_t r = 0; r < rows; ++r) {
          const float *pr = pb + r * kLen;
          float *row = dpb + r * kLen;
          float dot = 0.0f;
          for (int64_t j = 0; j < kLen; ++j)
            dot += row[j] * pr[j];
          for (int64_t j = 0; j < kLen; ++j)
            row[j] = pr[j] * (row[j] - dot) * scale;
        }
        if (d == 0)
          continue;
        const void *dsOperand = operand(dpb, dsLow, rows * kLen);
        // dQ = dS K (rounded once for bf16/fp16); dK += dS^T Q.
        float *dqOut =
            half ? grow(dq32, rows * d) : reinterpret_cast<float *>(dqBlock);
        product(type, false, false, rows, d, kLen, dsOperand, kLen, kPair, d,
                false, dqOut, d);
        if (half)
          for (int64_t j = 0; j < rows * d; ++j)
            reinterpret_cast<uint16_t *>(dqBlock)[j] =
                floatToHalfBits(type, dqOut[j]);
        product(type, true, false, kLen, d, rows, dsOperand, kLen, qBlock, d,
                true, dkSum, d);
      }
      if (half) {
        auto *dkOut = reinterpret_cast<uint16_t *>(pdk + pair * sk * d * elem);
        auto *dvOut =
            reinterpret_cast<uint16_t *>(pdv + pair * sk * dvDim * elem);
        for (int64_t j = 0; j < sk * d; ++j)
          dkOut[j] = floatToHalfBits(type, dkSum[j]);
        for (int64_t j = 0; j < sk * dvDim; ++j)
          dvOut[j] = floatToHalfBits(type, dvSum[j]);
      }
    }
  });
}

} // namespace accel::rt::cpu
