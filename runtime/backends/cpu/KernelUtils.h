//===- KernelUtils.h - Shared helpers of the CPU kernels --------*- C++ -*-===//
//
// Errors, broadcasting strides and the strided loop nest the elementwise and
// data-movement kernels walk. Internal to the CPU backend.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_BACKENDS_CPU_KERNELUTILS_H
#define ACCEL_RUNTIME_BACKENDS_CPU_KERNELUTILS_H

#include "CpuKernels.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <string>
#include <vector>

namespace accel::rt::cpu::detail {

[[noreturn]] inline void fail(const char *kernel, const std::string &what) {
  throw KernelError(std::string("cpu.") + kernel + ": " + what);
}

[[noreturn]] inline void unsupportedType(const char *kernel, DType t) {
  fail(kernel, std::string("unsupported element type ") + dtypeName(t));
}

inline void require(bool ok, const char *kernel, const std::string &what) {
  if (!ok)
    fail(kernel, what);
}

inline void requireSameType(const char *kernel, const TensorView &a,
                            const TensorView &b) {
  require(a.dtype == b.dtype, kernel,
          std::string("element types differ: ") + dtypeName(a.dtype) + " vs " +
              dtypeName(b.dtype));
}

/// Row-major element strides of a contiguous shape.
inline std::vector<int64_t> contiguousStrides(const Shape &shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/// Strides that read `in` at every index of `out` under NumPy broadcasting:
/// aligned to out's rank, 0 where `in` has size 1 (or no dim).
inline std::vector<int64_t>
broadcastStrides(const char *kernel, const Shape &in, const Shape &out) {
  require(in.size() <= out.size(), kernel,
          "cannot broadcast " + shapeToString(in) + " to " +
              shapeToString(out));
  std::vector<int64_t> strides(out.size(), 0);
  std::vector<int64_t> inStrides = contiguousStrides(in);
  size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == out[i + offset])
      strides[i + offset] = in[i] == 1 ? 0 : inStrides[i];
    else
      require(in[i] == 1, kernel,
              "cannot broadcast " + shapeToString(in) + " to " +
                  shapeToString(out));
  }
  return strides;
}

constexpr int kMaxOperands = 3;

/// A row-major walk over a contiguous output with up to kMaxOperands operands
/// read at per-dim strides. Size-1 dims are dropped and adjacent dims merged
/// whenever every operand allows it, so same-shape operands become one flat
/// loop and scalar or row broadcasts one or two loops.
struct LoopNest {
  std::vector<int64_t> shape; // never empty: rank 0 becomes [1]
  std::vector<std::array<int64_t, kMaxOperands>> strides;
  int numOperands = 0;

  LoopNest(const Shape &outShape,
           const std::vector<std::vector<int64_t>> &operandStrides)
      : numOperands(static_cast<int>(operandStrides.size())) {
    for (size_t d = 0; d < outShape.size(); ++d) {
      if (outShape[d] == 1)
        continue;
      std::array<int64_t, kMaxOperands> s{};
      for (int k = 0; k < numOperands; ++k)
        s[k] = operandStrides[k][d];
      if (!shape.empty()) {
        bool mergeable = true;
        for (int k = 0; k < numOperands; ++k)
          mergeable &= strides.back()[k] == s[k] * outShape[d];
        if (mergeable) {
          shape.back() *= outShape[d];
          strides.back() = s;
          continue;
        }
      }
      shape.push_back(outShape[d]);
      strides.push_back(s);
    }
    if (shape.empty()) {
      shape.push_back(1);
      strides.push_back({});
    }
  }

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t inner() const { return shape.back(); }
  int64_t innerStride(int k) const { return strides.back()[k]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }

  /// Calls fn(outIndex, offsets, len) for the runs of the innermost dim that
  /// cover output elements [begin, end); offsets[k] is operand k's element
  /// offset at outIndex.
  template <typename Fn>
  void forEachRun(int64_t begin, int64_t end, Fn &&fn) const {
    int r = rank();
    std::vector<int64_t> idx(r);
    std::array<int64_t, kMaxOperands> off{};
    int64_t rest = begin;
    for (int d = r - 1; d >= 0; --d) {
      idx[d] = rest % shape[d];
      rest /= shape[d];
      for (int k = 0; k < numOperands; ++k)
        off[k] += idx[d] * strides[d][k];
    }
    int64_t pos = begin;
    while (pos < end) {
      int64_t len = std::min(shape[r - 1] - idx[r - 1], end - pos);
      fn(pos, off, len);
      pos += len;
      // Advance the odometer by len along the innermost dim, then carry.
      idx[r - 1] += len;
      for (int k = 0; k < numOperands; ++k)
        off[k] += len * strides[r - 1][k];
      for (int d = r - 1; d > 0 && idx[d] == shape[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (int k = 0; k < numOperands; ++k)
          off[k] += strides[d - 1][k] - shape[d] * strides[d][k];
      }
    }
  }
};

/// Puts OpenBLAS in single-threaded mode (once): the kernels call it from
/// pool threads, each on its own share of the work.
void ensureBlasSingleThreaded();

/// An fp32 copy of a tensor, for kernels that run a low-precision tensor
/// through their fp32 code: PyTorch's bf16 CPU kernels likewise compute
/// in fp32 and round each result once.
struct Widened {
  std::vector<float> storage;
  TensorView view;
};
/// `t` converted to fp32 (the cast kernel), or `t` itself when it is fp32.
Widened widenToF32(const TensorView &t, ThreadPool &pool);
/// An fp32 buffer shaped like `out`, for the result to be rounded into
/// `out` by the cast kernel afterwards.
Widened f32Like(const TensorView &out);

/// Makes the calling pool thread's OpenMP team (oneDNN's threads) one
/// thread: the pool splits the work, each thread runs its share alone.
void oneOpenMPThread();

/// Row-major single-threaded sgemm on the calling thread: C = alpha op(A)
/// op(B) + beta C. oneDNN's, which picks its AVX-512/AVX2 kernels from the
/// CPU's features at run time (OpenBLAS 0.3.21 falls back to its Haswell
/// kernels on CPUs it does not know, at half the speed).
void sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc);

/// One row-major product C = beta C + op(A) op(B), C of m x n, reduction k.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool transA = false, transB = false;
  float beta = 0.0f;
  int64_t lda() const { return transA ? m : k; }
  int64_t ldb() const { return transB ? k : n; }
};

/// Whether t is one of the 16-bit float types (bf16, fp16).
inline bool isHalfFloat(DType t) { return t == DType::BF16 || t == DType::F16; }

/// A bf16 or fp16 value's bits as fp32 (exact), and fp32 rounded to
/// nearest-even into them (F16C's conversions for fp16: overflow gives
/// inf, NaN stays NaN).
inline float halfBitsToFloat(DType t, uint16_t bits) {
  if (t == DType::F16)
    return _cvtsh_ss(bits);
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline uint16_t floatToHalfBits(DType t, float f) {
  if (t == DType::F16)
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet
    return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

/// Row-major single-threaded GEMM of bf16 or fp16 operands on the calling
/// thread (oneDNN's matmul primitive, or sgemm on fp32 copies where oneDNN
/// has no kernel for the type): C = op(A) op(B), or C += op(A) op(B) with
/// `accumulate`, products summed in fp32, C of type `cType` (F32 or the
/// operands' type).
void gemmHalf(DType operands, bool transA, bool transB, int64_t m, int64_t n,
              int64_t k, const uint16_t *a, int64_t lda, const uint16_t *b,
              int64_t ldb, bool accumulate, void *c, DType cType, int64_t ldc);

/// The element types of a GEMM: f32 x f32 -> f32, or bf16 (fp16) operands
/// into f32 or bf16 (fp16).
struct GemmTypes {
  DType operands = DType::F32, result = DType::F32;
};

/// `batch` products of shape d, entry i reading A at a + aOffsets[i] and B
/// at b + bOffsets[i] (in elements) and writing C at c + i * m * n, split
/// over the pool (whole entries, or row/column blocks of them) with
/// single-threaded BLAS in each share. fp32 matrix-vector shapes use sgemv.
/// Requires k > 0; a beta other than 0 must be 1 for bf16/fp16 operands.
void parallelGemm(const GemmShape &d, int64_t batch, const int64_t *aOffsets,
                  const int64_t *bOffsets, const void *a, const void *b,
                  void *c, GemmTypes types, ThreadPool &pool);
inline void parallelGemm(const GemmShape &d, int64_t batch,
                         const int64_t *aOffsets, const int64_t *bOffsets,
                         const float *a, const float *b, float *c,
                         ThreadPool &pool) {
  parallelGemm(d, batch, aOffsets, bOffsets, a, b, c, GemmTypes{}, pool);
}

/// The indices of a gather or scatter as int64, negative ones counted from
/// the end; throws KernelError naming the first out-of-range index and its
/// position.
std::vector<int64_t> checkedIndices(const char *kernel,
                                    const TensorView &indices, int64_t axisLen,
                                    int64_t axis);

/// Grain sizes (elements per chunk) by per-element cost, chosen so a chunk
/// takes a few microseconds and pool overhead stays negligible.
constexpr int64_t kGrainCheap = 32768;
constexpr int64_t kGrainMedium = 8192;
constexpr int64_t kGrainExpensive = 2048;

/// Rows per chunk for row-wise kernels, so a chunk covers about
/// kGrainMedium elements.
inline int64_t rowGrainFor(int64_t rowLen) {
  return std::max<int64_t>(1, kGrainMedium / std::max<int64_t>(rowLen, 1));
}

} // namespace accel::rt::cpu::detail

#endif // ACCEL_RUNTIME_BACKENDS_CPU_KERNELUTILS_H
