//===- AttentionScores.h - What attention's kernels share ------*- C++ -*-===//
//
// The forward and backward attention kernels check the same operands and
// compute the probabilities P of a block of query rows with one function.
// (Their row blocks differ, so a causal row's softmax may sum over a
// different number of keys, masked ones included: P agrees to the last few
// bits, not always bit for bit.)
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_BACKENDS_CPU_ATTENTIONSCORES_H
#define ACCEL_RUNTIME_BACKENDS_CPU_ATTENTIONSCORES_H

#include "KernelUtils.h"

#include <vector>

namespace accel::rt::cpu::detail {

/// One attention problem: q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv]
/// checked, the mask widened to fp32 and its strides over [B, H, Sq, Sk].
class AttentionScores {
public:
  /// Checks the operands (and that `out`, the result or its cotangent
  /// named `outName`, is shaped [B, H, Sq, Dv] and typed as q); errors
  /// name `kernel`.
  AttentionScores(const char *kernel, const TensorView &q, const TensorView &k,
                  const TensorView &v, const TensorView &mask,
                  const TensorView &out, const char *outName, bool causal,
                  float scale, ThreadPool &pool);

  DType type() const { return dtype; }
  bool half() const { return isHalfFloat(dtype); }
  int64_t batch() const { return b; }
  int64_t heads() const { return h; }
  int64_t queries() const { return sq; }
  int64_t keys() const { return sk; }
  int64_t dim() const { return d; }
  int64_t valueDim() const { return dv; }
  int64_t pairs() const { return b * h; }

  /// Query rows per block: `rowBlock` capped for causal attention, whose
  /// blocks skip the keys no row of theirs sees.
  int64_t rowBlock(int64_t rowBlock) const;
  /// The keys rows [i0, i0 + rows) see: all of them, or for causal
  /// attention those up to the block's last row (0: none).
  int64_t keyLength(int64_t i0, int64_t rows) const;

  /// P of rows [i0, i0 + rows) of (batch, head) pair `pair` over the first
  /// `kLen` keys into `s` (rows x kLen, fp32): scale Q K^T, the mask, the
  /// causal mask, a stable softmax per row (a row with every score masked
  /// is zeros).
  void probabilities(int64_t pair, int64_t i0, int64_t rows, int64_t kLen,
                     float *s) const;

private:
  DType dtype;
  int64_t b, h, sq, sk, d, dv;
  const char *q, *k;
  Widened wideMask;
  std::vector<int64_t> maskStrides;
  bool causal;
  float scale;
};

} // namespace accel::rt::cpu::detail

#endif // ACCEL_RUNTIME_BACKENDS_CPU_ATTENTIONSCORES_H
