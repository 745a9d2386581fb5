//===- Attention.cpp - Fused scaled dot-product attention -----------------===//
//
// Per (batch, head) pair, and per block of query rows when there are too few
// pairs to occupy the pool: scores = scale * Q K^T by sgemm into a per-thread
// scratch buffer, masking and a stable softmax per row, then O = P V by
// sgemm. Causal blocks only compute the key columns some row of the block
// can see.
//
// bf16/fp16 q, k, v (PyTorch's CPU flash attention does the same): both
// GEMMs on low-precision operands with fp32 sums, the scores, mask and
// softmax in fp32, P rounded to the operands' type for P V, and O rounded
// once.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"
#include "VectorMath.h"


#include <cstring>
#include <limits>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Query rows per block when blocks are needed; a multiple of the sgemm
/// kernel height.
constexpr int64_t kMinRowBlock = 16;

/// Query rows per block of causal attention.
constexpr int64_t kCausalRowBlock = 64;

/// In-place softmax of a score row; a row whose scores are all -inf (fully
/// masked) becomes zeros, one holding a NaN becomes NaN (rowMax keeps it).
void softmaxScores(float *s, int64_t n) {
  float m = rowMax(s, n);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::memset(s, 0, n * sizeof(float));
    return;
  }
  mapFloat8(s, s, n, [m](Float8 v) { return expVec(v - m); });
  float inv = static_cast<float>(1.0 / rowSum(s, n));
  for (int64_t j = 0; j < n; ++j)
    s[j] *= inv;
}

} // namespace

void attention(const TensorView &q, const TensorView &k, const TensorView &v,
               const TensorView &maskOperand, const TensorView &out,
               bool causal, float scale, ThreadPool &pool) {
  const char *kernel = "attention";
  // A bf16/fp16 additive mask (a low-precision export's) is added to the
  // fp32 scores as its exact fp32 values.
  Widened wideMask{{}, maskOperand};
  if (maskOperand.data && isHalfFloat(maskOperand.dtype))
    wideMask = widenToF32(maskOperand, pool);
  const TensorView &mask = wideMask.view;
  const DType type = q.dtype;
  if (type != DType::F32 && !isHalfFloat(type))
    unsupportedType(kernel, type);
  for (const TensorView *t : {&k, &v, &out})
    require(t->dtype == type, kernel,
            std::string("q, k, v and out must share one type, got ") +
                dtypeName(type) + " and " + dtypeName(t->dtype));
  const bool half = isHalfFloat(type);
  require(q.rank() == 4 && k.rank() == 4 && v.rank() == 4 && out.rank() == 4,
          kernel, "q, k, v and out must have rank 4");
  int64_t b = q.shape[0], h = q.shape[1], sq = q.shape[2], d = q.shape[3];
  int64_t sk = k.shape[2], dv = v.shape[3];
  require(k.shape == Shape({b, h, sk, d}) && v.shape == Shape({b, h, sk, dv}) &&
              out.shape == Shape({b, h, sq, dv}),
          kernel,
          "shapes q " + shapeToString(q.shape) + ", k " +
              shapeToString(k.shape) + ", v " + shapeToString(v.shape) +
              ", out " + shapeToString(out.shape) + " do not match");
  const bool hasMask = mask.data != nullptr;
  std::vector<int64_t> maskStrides(4, 0);
  if (hasMask) {
    require(mask.dtype == DType::Bool || mask.dtype == DType::F32, kernel,
            std::string("mask must be bool or a float type, got ") +
                dtypeName(mask.dtype));
    maskStrides = broadcastStrides(kernel, mask.shape, {b, h, sq, sk});
  }
  if (out.numel() == 0)
    return;
  ensureBlasSingleThreaded();

  int64_t pairs = b * h;
  int64_t threads = pool.size();
  int64_t rowBlock = sq;
  if (pairs < 4 * threads) {
    int64_t blocks = (4 * threads + pairs - 1) / pairs;
    rowBlock = std::max(kMinRowBlock, (sq + blocks - 1) / blocks);
  }
  // Causal rows only need the keys up to their block's last row: smaller
  // blocks skip more of the masked triangle (64 rows skip 3/8 of a square
  // score matrix at 256 tokens) while keeping the GEMMs efficient.
  if (causal)
    rowBlock = std::min(rowBlock, kCausalRowBlock);
  int64_t blocksPerPair = (sq + rowBlock - 1) / rowBlock;
  const int64_t elem = dtypeSize(type);
  const char *pq = static_cast<const char *>(q.data);
  const char *pk = static_cast<const char *>(k.data);
  const char *pv = static_cast<const char *>(v.data);
  char *po = static_cast<char *>(out.data);
  const bool boolMask = hasMask && mask.dtype == DType::Bool;
  const char *pm = static_cast<const char *>(mask.data);
  const int64_t maskElem = hasMask ? dtypeSize(mask.dtype) : 0;
  const int64_t causalShift = sk - sq; // row i sees keys j <= i + shift

  pool.parallelFor(pairs * blocksPerPair, 1, [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> scratch;
    thread_local std::vector<uint16_t> roundedP;
    if (half)
      oneOpenMPThread();
    for (int64_t u = u0; u < u1; ++u) {
      int64_t pair = u / blocksPerPair;
      int64_t i0 = (u % blocksPerPair) * rowBlock;
      int64_t rows = std::min(rowBlock, sq - i0);
      int64_t bi = pair / h, hi = pair % h;
      char *o = po + (pair * sq + i0) * dv * elem;
      const char *qBlock = pq + (pair * sq + i0) * d * elem;
      const char *kPair = pk + pair * sk * d * elem;
      const char *vPair = pv + pair * sk * dv * elem;
      int64_t kLen = sk;
      if (causal)
        kLen = std::clamp<int64_t>(i0 + rows + causalShift, 0, sk);
      if (kLen == 0) { // every key is in the future of every row
        std::memset(o, 0, rows * dv * elem);
        continue;
      }
      if (scratch.size() < static_cast<size_t>(rows * kLen))
        scratch.resize(rows * kLen);
      float *s = scratch.data();
      if (d == 0) // empty dot products (BLAS would not write s)
        std::memset(s, 0, rows * kLen * sizeof(float));
      else if (half)
        gemmHalf(type, false, true, rows, kLen, d,
                 reinterpret_cast<const uint16_t *>(qBlock), d,
                 reinterpret_cast<const uint16_t *>(kPair), d, false, s,
                 DType::F32, kLen);
      else
        sgemm(false, true, rows, kLen, d, scale,
              reinterpret_cast<const float *>(qBlock), d,
              reinterpret_cast<const float *>(kPair), d, 0.0f, s, kLen);
      for (int64_t r = 0; r < rows; ++r) {
        int64_t i = i0 + r;
        float *row = s + r * kLen;
        if (half && d > 0) // the fp32 sums, scaled as sgemm's alpha does
          for (int64_t j = 0; j < kLen; ++j)
            row[j] *= scale;
        if (hasMask) {
          const char *m = pm + (bi * maskStrides[0] + hi * maskStrides[1] +
                                i * maskStrides[2]) *
                                   maskElem;
          int64_t mj = maskStrides[3];
          if (boolMask) {
            const uint8_t *mb = reinterpret_cast<const uint8_t *>(m);
            for (int64_t j = 0; j < kLen; ++j)
              row[j] =
                  mb[j * mj] ? row[j] : -std::numeric_limits<float>::infinity();
          } else {
            const float *mf = reinterpret_cast<const float *>(m);
            for (int64_t j = 0; j < kLen; ++j)
              row[j] += mf[j * mj];
          }
        }
        if (causal)
          for (int64_t j = std::max<int64_t>(i + causalShift + 1, 0); j < kLen;
               ++j)
            row[j] = -std::numeric_limits<float>::infinity();
        softmaxScores(row, kLen);
      }
      if (!half) {
        sgemm(false, false, rows, dv, kLen, 1.0f, s, kLen,
              reinterpret_cast<const float *>(vPair), dv, 0.0f,
              reinterpret_cast<float *>(o), dv);
        continue;
      }
      if (roundedP.size() < static_cast<size_t>(rows * kLen))
        roundedP.resize(rows * kLen);
      for (int64_t j = 0; j < rows * kLen; ++j)
        roundedP[j] = floatToHalfBits(type, s[j]);
      gemmHalf(type, false, false, rows, dv, kLen, roundedP.data(), kLen,
               reinterpret_cast<const uint16_t *>(vPair), dv, false, o, type,
               dv);
    }
  });
}

} // namespace accel::rt::cpu
