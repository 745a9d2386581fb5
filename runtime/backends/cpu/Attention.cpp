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
#include "AttentionScores.h"
#include "CpuKernels.h"
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

namespace detail {

AttentionScores::AttentionScores(const char *kernel, const TensorView &qv,
                                 const TensorView &kv, const TensorView &vv,
                                 const TensorView &mask, const TensorView &out,
                                 const char *outName, bool causal, float scale,
                                 ThreadPool &pool)
    : dtype(qv.dtype), q(static_cast<const char *>(qv.data)),
      k(static_cast<const char *>(kv.data)), wideMask{{}, mask},
      maskStrides(4, 0), causal(causal), scale(scale) {
  if (dtype != DType::F32 && !isHalfFloat(dtype))
    unsupportedType(kernel, dtype);
  for (const TensorView *t : {&kv, &vv, &out})
    require(t->dtype == dtype, kernel,
            std::string("q, k, v and ") + outName +
                " must share one type, got " + dtypeName(dtype) + " and " +
                dtypeName(t->dtype));
  require(qv.rank() == 4 && kv.rank() == 4 && vv.rank() == 4 && out.rank() == 4,
          kernel, std::string("q, k, v and ") + outName + " must have rank 4");
  b = qv.shape[0], h = qv.shape[1], sq = qv.shape[2], d = qv.shape[3];
  sk = kv.shape[2], dv = vv.shape[3];
  require(
      kv.shape == Shape({b, h, sk, d}) && vv.shape == Shape({b, h, sk, dv}) &&
          out.shape == Shape({b, h, sq, dv}),
      kernel,
      "shapes q " + shapeToString(qv.shape) + ", k " + shapeToString(kv.shape) +
          ", v " + shapeToString(vv.shape) + ", " + outName + " " +
          shapeToString(out.shape) + " do not match");
  // A bf16/fp16 additive mask (a low-precision export's) is added to the
  // fp32 scores as its exact fp32 values.
  if (mask.data && isHalfFloat(mask.dtype))
    wideMask = widenToF32(mask, pool);
  if (const TensorView &m = wideMask.view; m.data) {
    require(m.dtype == DType::Bool || m.dtype == DType::F32, kernel,
            std::string("mask must be bool or a float type, got ") +
                dtypeName(m.dtype));
    maskStrides = broadcastStrides(kernel, m.shape, {b, h, sq, sk});
  }
}

int64_t AttentionScores::rowBlock(int64_t rows) const {
  // Causal rows only need the keys up to their block's last row: smaller
  // blocks skip more of the masked triangle (64 rows skip 3/8 of a square
  // score matrix at 256 tokens) while keeping the GEMMs efficient.
  return causal ? std::min(rows, kCausalRowBlock) : rows;
}

int64_t AttentionScores::keyLength(int64_t i0, int64_t rows) const {
  // Row i sees keys j <= i + (Sk - Sq).
  return causal ? std::clamp<int64_t>(i0 + rows + (sk - sq), 0, sk) : sk;
}

void AttentionScores::probabilities(int64_t pair, int64_t i0, int64_t rows,
                                    int64_t kLen, float *s) const {
  const int64_t elem = dtypeSize(dtype);
  const char *qBlock = q + (pair * sq + i0) * d * elem;
  const char *kPair = k + pair * sk * d * elem;
  if (d == 0) // empty dot products (BLAS would not write s)
    std::memset(s, 0, rows * kLen * sizeof(float));
  else if (half())
    gemmHalf(dtype, false, true, rows, kLen, d,
             reinterpret_cast<const uint16_t *>(qBlock), d,
             reinterpret_cast<const uint16_t *>(kPair), d, false, s, DType::F32,
             kLen);
  else
    sgemm(false, true, rows, kLen, d, scale,
          reinterpret_cast<const float *>(qBlock), d,
          reinterpret_cast<const float *>(kPair), d, 0.0f, s, kLen);
  const TensorView &mask = wideMask.view;
  const int64_t bi = pair / h, hi = pair % h;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t i = i0 + r;
    float *row = s + r * kLen;
    if (half() && d > 0) // the fp32 sums, scaled as sgemm's alpha does
      for (int64_t j = 0; j < kLen; ++j)
        row[j] *= scale;
    if (mask.data) {
      int64_t at =
          bi * maskStrides[0] + hi * maskStrides[1] + i * maskStrides[2];
      int64_t mj = maskStrides[3];
      if (mask.dtype == DType::Bool) {
        const uint8_t *mb = static_cast<const uint8_t *>(mask.data) + at;
        for (int64_t j = 0; j < kLen; ++j)
          row[j] =
              mb[j * mj] ? row[j] : -std::numeric_limits<float>::infinity();
      } else {
        const float *mf = static_cast<const float *>(mask.data) + at;
        for (int64_t j = 0; j < kLen; ++j)
          row[j] += mf[j * mj];
      }
    }
    if (causal)
      for (int64_t j = std::max<int64_t>(i + (sk - sq) + 1, 0); j < kLen; ++j)
        row[j] = -std::numeric_limits<float>::infinity();
    softmaxScores(row, kLen);
  }
}

} // namespace detail

void attention(const TensorView &q, const TensorView &k, const TensorView &v,
               const TensorView &mask, const TensorView &out, bool causal,
               float scale, ThreadPool &pool) {
  const AttentionScores scores("attention", q, k, v, mask, out, "out", causal,
                               scale, pool);
  if (out.numel() == 0)
    return;
  ensureBlasSingleThreaded();
  const DType type = scores.type();
  const bool half = scores.half();
  const int64_t sq = scores.queries(), sk = scores.keys(),
                dv = scores.valueDim();
  const int64_t pairs = scores.pairs(), threads = pool.size();
  int64_t rowBlock = sq;
  if (pairs < 4 * threads) {
    int64_t blocks = (4 * threads + pairs - 1) / pairs;
    rowBlock = std::max(kMinRowBlock, (sq + blocks - 1) / blocks);
  }
  rowBlock = scores.rowBlock(rowBlock);
  const int64_t blocksPerPair = (sq + rowBlock - 1) / rowBlock;
  const int64_t elem = dtypeSize(type);
  const char *pv = static_cast<const char *>(v.data);
  char *po = static_cast<char *>(out.data);

  pool.parallelFor(pairs * blocksPerPair, 1, [&](int64_t u0, int64_t u1) {
    thread_local std::vector<float> scratch;
    thread_local std::vector<uint16_t> roundedP;
    if (half)
      oneOpenMPThread();
    for (int64_t u = u0; u < u1; ++u) {
      int64_t pair = u / blocksPerPair;
      int64_t i0 = (u % blocksPerPair) * rowBlock;
      int64_t rows = std::min(rowBlock, sq - i0);
      char *o = po + (pair * sq + i0) * dv * elem;
      const char *vPair = pv + pair * sk * dv * elem;
      int64_t kLen = scores.keyLength(i0, rows);
      if (kLen == 0) { // every key is in the future of every row
        std::memset(o, 0, rows * dv * elem);
        continue;
      }
      if (scratch.size() < static_cast<size_t>(rows * kLen))
        scratch.resize(rows * kLen);
      float *s = scratch.data();
      scores.probabilities(pair, i0, rows, kLen, s);
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
