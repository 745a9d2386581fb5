//===- Matmul.cpp - Batched matrix product on BLAS sgemm ------------------===//
//
// Every GEMM is split over the runtime's thread pool, and each pool thread
// calls single-threaded sgemm (oneDNN) on its share: whole batch entries when there
// are enough of them, otherwise column (or row) blocks of one product. This
// measured as fast as OpenBLAS's own threading on large products, twice as
// fast on short ones (M = 8), and keeps the pool the only source of threads
// (no BLAS workers spinning against the pool's).
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <cblas.h>
#include <dnnl.h>
#ifdef ACCEL_HAVE_OPENMP
#include <omp.h>
#endif

#include <atomic>
#include <cstring>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Upper bound on the pool threads one GEMM uses (setBlasThreads); 0 means
/// the whole pool.
std::atomic<int> gemmThreadLimit{0};

/// Products below this many flops run on the calling thread: splitting them
/// costs more in pool hand-off and repeated packing than it saves.
constexpr double kMinParallelFlops = 2.0 * 64 * 64 * 64;

/// Split blocks are multiples of this many rows or columns, the width of
/// OpenBLAS's sgemm kernels on AVX2/AVX-512.
constexpr int64_t kSplitAlign = 16;

/// Bounds of block `part` of `parts` over [0, extent), aligned to
/// kSplitAlign except at the end.
std::pair<int64_t, int64_t> splitRange(int64_t extent, int64_t part,
                                       int64_t parts) {
  auto bound = [&](int64_t p) {
    if (p == parts)
      return extent;
    return (extent * p / parts) / kSplitAlign * kSplitAlign;
  };
  return {bound(part), bound(part + 1)};
}

/// Runs block `part` of `parts` of one product, splitting columns when
/// splitN (each block then repacks all of A) or rows otherwise (each block
/// repacks all of B).
void gemmBlock(const GemmShape &d, const char *av, const char *bv, char *cv,
               GemmTypes types, int64_t part, int64_t parts, bool splitN) {
  int64_t m = d.m, n = d.n;
  int64_t ab = dtypeSize(types.operands), cb = dtypeSize(types.result);
  if (parts > 1) {
    auto [lo, hi] = splitRange(splitN ? d.n : d.m, part, parts);
    if (hi <= lo)
      return;
    if (splitN) {
      bv += (d.transB ? lo * d.ldb() : lo) * ab;
      cv += lo * cb;
      n = hi - lo;
    } else {
      av += (d.transA ? lo : lo * d.lda()) * ab;
      cv += lo * d.n * cb;
      m = hi - lo;
    }
  }
  if (isHalfFloat(types.operands))
    return gemmHalf(types.operands, d.transA, d.transB, m, n, d.k,
                    reinterpret_cast<const uint16_t *>(av), d.lda(),
                    reinterpret_cast<const uint16_t *>(bv), d.ldb(),
                    d.beta != 0.0f, cv, types.result, d.n);
  auto *a = reinterpret_cast<const float *>(av);
  auto *b = reinterpret_cast<const float *>(bv);
  auto *c = reinterpret_cast<float *>(cv);
  // Matrix-vector products (decoding one token, a projection to a scalar)
  // go to sgemv, which streams the matrix at up to 6x sgemm's speed there.
  if (m == 1) {
    if (d.transB)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n),
                  static_cast<int>(d.k), 1.0f, b, static_cast<int>(d.ldb()), a,
                  1, d.beta, c, 1);
    else
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(d.k),
                  static_cast<int>(n), 1.0f, b, static_cast<int>(d.ldb()), a, 1,
                  d.beta, c, 1);
    return;
  }
  if (n == 1) {
    if (d.transA)
      cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(d.k),
                  static_cast<int>(m), 1.0f, a, static_cast<int>(d.lda()), b, 1,
                  d.beta, c, static_cast<int>(d.n));
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(d.k), 1.0f, a, static_cast<int>(d.lda()), b,
                  1, d.beta, c, static_cast<int>(d.n));
    return;
  }
  sgemm(d.transA, d.transB, m, n, d.k, 1.0f, a, d.lda(), b, d.ldb(), d.beta,
        c, d.n);
}

} // namespace

namespace detail {
void oneOpenMPThread() {
  // oneDNN threads with OpenMP; each pool thread runs its share alone, so
  // its OpenMP team size (a per-thread setting) is 1.
#ifdef ACCEL_HAVE_OPENMP
  thread_local bool single = [] {
    omp_set_num_threads(1);
    return true;
  }();
  (void)single;
#endif
}

void sgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc) {
  oneOpenMPThread();
  dnnl_status_t status =
      dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, alpha, a,
                 lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    fail("matmul", "oneDNN sgemm failed with status " +
                       std::to_string(static_cast<int>(status)));
}

void ensureBlasSingleThreaded() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void parallelGemm(const GemmShape &d, int64_t batch, const int64_t *aOffsets,
                  const int64_t *bOffsets, const void *a, const void *b,
                  void *c, GemmTypes types, ThreadPool &pool) {
  if (batch == 0 || d.m == 0 || d.n == 0)
    return;
  bool half = isHalfFloat(types.operands);
  if (!(types.operands == DType::F32 && types.result == DType::F32) &&
      !(half && (types.result == DType::F32 || types.result == types.operands)))
    fail("matmul", std::string("no GEMM of ") + dtypeName(types.operands) +
                       " operands into " + dtypeName(types.result));
  if (half && d.beta != 0.0f && d.beta != 1.0f)
    fail("matmul", "a bf16/fp16 GEMM accumulates with beta 1 or none");
  int64_t ab = dtypeSize(types.operands), cb = dtypeSize(types.result);
  auto *ap = static_cast<const char *>(a), *bp = static_cast<const char *>(b);
  auto *cp = static_cast<char *>(c);
  ensureBlasSingleThreaded();
  int64_t threads = pool.size();
  int limit = gemmThreadLimit.load(std::memory_order_relaxed);
  if (limit > 0 && limit < threads)
    threads = limit;
  double flops = 2.0 * static_cast<double>(d.m) * d.n * d.k;
  if (flops * batch < kMinParallelFlops)
    threads = 1;

  // Split each product into the fewest blocks that spread the work evenly
  // (batch * splits a multiple of the thread count) or finely enough
  // (4 units per thread) that unevenness does not matter.
  bool splitN = d.m < d.n;
  int64_t splitExtent = splitN ? d.n : d.m;
  int64_t splits = 1;
  while ((batch * splits) % threads != 0 && batch * splits < 4 * threads &&
         splitExtent / (splits + 1) >= kSplitAlign)
    ++splits;
  if (flops / splits < kMinParallelFlops / 4)
    splits = 1;

  auto runUnits = [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      int64_t i = u / splits;
      gemmBlock(d, ap + aOffsets[i] * ab, bp + bOffsets[i] * ab,
                cp + i * d.m * d.n * cb, types, u % splits, splits, splitN);
    }
  };
  int64_t units = batch * splits;
  if (threads == 1)
    runUnits(0, units);
  else // at most `threads` chunks, so the thread limit holds
    pool.parallelFor(units, (units + threads - 1) / threads, runUnits);
}
} // namespace detail

void setBlasThreads(int n) {
  gemmThreadLimit.store(n > 0 ? n : 0, std::memory_order_relaxed);
  openblas_set_num_threads(1);
}

void matmul(const TensorView &a, const TensorView &b, const TensorView &out,
            bool transposeA, bool transposeB, ThreadPool &pool) {
  const char *kernel = "matmul";
  // fp32, or bf16 (fp16) operands, products summed in fp32, into their
  // type or fp32.
  if (a.dtype != b.dtype)
    fail(kernel, std::string("operands of two types, ") + dtypeName(a.dtype) +
                     " and " + dtypeName(b.dtype));
  if (a.dtype != DType::F32 && !isHalfFloat(a.dtype))
    unsupportedType(kernel, a.dtype);
  if (out.dtype != DType::F32 && out.dtype != a.dtype)
    unsupportedType(kernel, out.dtype);
  require(a.rank() >= 2 && b.rank() >= 2 && out.rank() >= 2, kernel,
          "operands need rank >= 2");
  int64_t ra = a.rank(), rb = b.rank(), ro = out.rank();
  GemmShape d;
  d.transA = transposeA;
  d.transB = transposeB;
  d.m = a.shape[ra - (transposeA ? 1 : 2)];
  d.k = a.shape[ra - (transposeA ? 2 : 1)];
  d.n = b.shape[rb - (transposeB ? 2 : 1)];
  int64_t kb = b.shape[rb - (transposeB ? 1 : 2)];
  require(d.k == kb && out.shape[ro - 2] == d.m && out.shape[ro - 1] == d.n,
          kernel,
          "shapes " + shapeToString(a.shape) + " x " + shapeToString(b.shape) +
              " -> " + shapeToString(out.shape) + " do not match");
  if (out.numel() == 0)
    return;
  if (d.k == 0) {
    std::memset(out.data, 0, out.bytes());
    return;
  }
  Shape aBatch(a.shape.begin(), a.shape.end() - 2);
  Shape bBatch(b.shape.begin(), b.shape.end() - 2);
  Shape outBatch(out.shape.begin(), out.shape.end() - 2);
  int64_t batch = numElements(outBatch);
  // A batch of products with one shared B is one tall product.
  if (!transposeA && numElements(bBatch) == 1 && numElements(aBatch) == batch) {
    d.m *= batch;
    aBatch.clear();
    bBatch.clear();
    outBatch.clear();
    batch = 1;
  }

  // Element offsets of each batch entry's A and B.
  std::vector<int64_t> aOff(batch), bOff(batch);
  LoopNest nest(outBatch, {broadcastStrides(kernel, aBatch, outBatch),
                           broadcastStrides(kernel, bBatch, outBatch)});
  nest.forEachRun(0, batch, [&](int64_t pos, const auto &off, int64_t len) {
    for (int64_t i = 0; i < len; ++i) {
      aOff[pos + i] = (off[0] + i * nest.innerStride(0)) * d.m * d.k;
      bOff[pos + i] = (off[1] + i * nest.innerStride(1)) * d.k * d.n;
    }
  });

  parallelGemm(d, batch, aOff.data(), bOff.data(), a.data, b.data, out.data,
               GemmTypes{a.dtype, out.dtype}, pool);
}

} // namespace accel::rt::cpu
