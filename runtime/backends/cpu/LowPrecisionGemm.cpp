//===- LowPrecisionGemm.cpp - bf16/fp16 GEMMs on oneDNN's matmul ----------===//
//
// C = op(A) op(B) with bf16 or fp16 A and B, products accumulated in fp32
// and C written as fp32 or in the operands' type: what torch.autocast's
// matmuls compute. One call runs on the calling thread (its OpenMP team is
// 1, as for sgemm); the split over the pool is parallelGemm's. oneDNN
// picks the kernel for the CPU at run time (AMX tiles, AVX512-BF16 or
// AVX512-FP16 dot products; ONEDNN_VERBOSE=1 names it). Where it has none
// for the type (fp16 before AVX512-FP16, bf16 before AVX-512), the
// operands are widened to fp32 and multiplied by sgemm: the same
// products and fp32 sums, at fp32's speed.
//
// A primitive is built once per shape and thread (oneDNN's own cache makes
// a rebuild cheap too) and reused with new data pointers.
//
//===----------------------------------------------------------------------===//
#include "KernelUtils.h"

#include <dnnl.h>
#include <immintrin.h>

#include <map>
#include <tuple>

namespace accel::rt::cpu::detail {

namespace {

void check(dnnl_status_t status, const char *what) {
  if (status != dnnl_success)
    fail("matmul", std::string("oneDNN ") + what + " failed with status " +
                       std::to_string(static_cast<int>(status)));
}

dnnl_engine_t cpuEngine() {
  static dnnl_engine_t engine = [] {
    dnnl_engine_t e = nullptr;
    check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine creation");
    return e;
  }();
  return engine;
}

/// One product's shape and layout: what a primitive is built for.
struct GemmKey {
  int64_t m, n, k, lda, ldb, ldc;
  bool transA, transB, accumulate;
  DType operands, c;
  auto tie() const {
    return std::tie(m, n, k, lda, ldb, ldc, transA, transB, accumulate,
                    operands, c);
  }
  bool operator<(const GemmKey &o) const { return tie() < o.tie(); }
};

/// A built matmul primitive with the memory descriptors of its operands;
/// no primitive when oneDNN has no kernel for the types on this CPU.
struct GemmPrimitive {
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_desc_t a, b, c;
};

dnnl_data_type_t dnnlType(DType t) {
  switch (t) {
  case DType::BF16:
    return dnnl_bf16;
  case DType::F16:
    return dnnl_f16;
  default:
    return dnnl_f32;
  }
}

dnnl_memory_desc_t matrixDesc(int64_t rows, int64_t cols, int64_t ld,
                              bool transposed, dnnl_data_type_t type) {
  dnnl_dims_t dims = {rows, cols};
  // Row-major with leading dimension ld, or its transpose.
  dnnl_dims_t strides = {transposed ? 1 : ld, transposed ? ld : 1};
  dnnl_memory_desc_t md;
  check(dnnl_memory_desc_init_by_strides(&md, 2, dims, type, strides),
        "memory descriptor");
  return md;
}

GemmPrimitive build(const GemmKey &key) {
  GemmPrimitive g;
  g.a = matrixDesc(key.m, key.k, key.lda, key.transA, dnnlType(key.operands));
  g.b = matrixDesc(key.k, key.n, key.ldb, key.transB, dnnlType(key.operands));
  g.c = matrixDesc(key.m, key.n, key.ldc, false, dnnlType(key.c));
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &g.a, &g.b, nullptr, &g.c),
        "matmul descriptor");
  dnnl_primitive_attr_t attr = nullptr;
  check(dnnl_primitive_attr_create(&attr), "attribute creation");
  if (key.accumulate) { // C += A B
    dnnl_post_ops_t ops = nullptr;
    check(dnnl_post_ops_create(&ops), "post-op creation");
    check(dnnl_post_ops_append_sum(ops, 1.0f), "sum post-op");
    check(dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops");
    dnnl_post_ops_destroy(ops);
  }
  dnnl_primitive_desc_t pd = nullptr;
  dnnl_status_t status =
      dnnl_primitive_desc_create(&pd, &desc, attr, cpuEngine(), nullptr);
  dnnl_primitive_attr_destroy(attr);
  if (status == dnnl_unimplemented)
    return g; // the fp32 path
  check(status, "matmul primitive descriptor");
  check(dnnl_primitive_create(&g.primitive, pd), "matmul primitive");
  dnnl_primitive_desc_destroy(pd);
  return g;
}

/// This thread's primitives and stream (a oneDNN stream is not shared
/// between threads).
struct ThreadGemms {
  std::map<GemmKey, GemmPrimitive> primitives;
  dnnl_stream_t stream = nullptr;
  ThreadGemms() {
    check(dnnl_stream_create(&stream, cpuEngine(), dnnl_stream_default_flags),
          "stream creation");
  }
  ~ThreadGemms() {
    for (auto &entry : primitives)
      dnnl_primitive_destroy(entry.second.primitive);
    dnnl_stream_destroy(stream);
  }
  const GemmPrimitive &get(const GemmKey &key) {
    auto it = primitives.find(key);
    if (it == primitives.end())
      it = primitives.emplace(key, build(key)).first;
    return it->second;
  }
};

ThreadGemms &threadGemms() {
  oneOpenMPThread();
  thread_local ThreadGemms gemms;
  return gemms;
}

dnnl_memory_t wrap(const dnnl_memory_desc_t &md, const void *data) {
  dnnl_memory_t memory = nullptr;
  check(dnnl_memory_create(&memory, &md, cpuEngine(), const_cast<void *>(data)),
        "memory creation");
  return memory;
}

/// op(X) of rows x cols (ld as stored) in fp32, row-major and dense.
void widenMatrix(DType type, const uint16_t *x, int64_t rows, int64_t cols,
                 int64_t ld, bool transposed, std::vector<float> &out) {
  out.resize(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[i * cols + j] =
          halfBitsToFloat(type, x[transposed ? j * ld + i : i * ld + j]);
}

/// The GEMM on fp32 copies of the operands, C rounded once.
void gemmThroughF32(DType operands, bool transA, bool transB, int64_t m,
                    int64_t n, int64_t k, const uint16_t *a, int64_t lda,
                    const uint16_t *b, int64_t ldb, bool accumulate, void *c,
                    DType cType, int64_t ldc) {
  thread_local std::vector<float> wideA, wideB, wideC;
  widenMatrix(operands, a, m, k, lda, transA, wideA);
  widenMatrix(operands, b, k, n, ldb, transB, wideB);
  if (cType == DType::F32)
    return sgemm(false, false, m, n, k, 1.0f, wideA.data(), k, wideB.data(), n,
                 accumulate ? 1.0f : 0.0f, static_cast<float *>(c), ldc);
  wideC.resize(static_cast<size_t>(m * n));
  sgemm(false, false, m, n, k, 1.0f, wideA.data(), k, wideB.data(), n, 0.0f,
        wideC.data(), n);
  auto *out = static_cast<uint16_t *>(c);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = wideC[i * n + j];
      if (accumulate) // like oneDNN's sum post-op: in fp32, rounded once
        sum += halfBitsToFloat(cType, out[i * ldc + j]);
      out[i * ldc + j] = floatToHalfBits(cType, sum);
    }
}

} // namespace

void gemmHalf(DType operands, bool transA, bool transB, int64_t m, int64_t n,
              int64_t k, const uint16_t *a, int64_t lda, const uint16_t *b,
              int64_t ldb, bool accumulate, void *c, DType cType, int64_t ldc) {
  ThreadGemms &gemms = threadGemms();
  const GemmPrimitive &g = gemms.get(
      {m, n, k, lda, ldb, ldc, transA, transB, accumulate, operands, cType});
  if (!g.primitive)
    return gemmThroughF32(operands, transA, transB, m, n, k, a, lda, b, ldb,
                          accumulate, c, cType, ldc);
  dnnl_memory_t ma = wrap(g.a, a), mb = wrap(g.b, b), mc = wrap(g.c, c);
  dnnl_exec_arg_t args[] = {
      {DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  dnnl_status_t status =
      dnnl_primitive_execute(g.primitive, gemms.stream, 3, args);
  if (status == dnnl_success)
    status = dnnl_stream_wait(gemms.stream);
  for (dnnl_memory_t mem : {ma, mb, mc})
    dnnl_memory_destroy(mem);
  check(status, "matmul execution");
}

} // namespace accel::rt::cpu::detail
