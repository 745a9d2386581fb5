//===- LowPrecisionGemm.cpp - bf16 GEMMs on oneDNN's matmul primitive -----===//
//
// C = op(A) op(B) with bf16 A and B, products accumulated in fp32 and C
// written as fp32 or bf16: what torch.autocast's bf16 matmuls compute. One
// call runs on the calling thread (its OpenMP team is 1, as for sgemm);
// the split over the pool is parallelGemm's. oneDNN picks the kernel for
// the CPU at run time: AMX tiles, AVX512-BF16 dot products, or a
// conversion to fp32 on CPUs with neither (gemmBf16Implementation says
// which).
//
// A primitive is built once per shape and thread (oneDNN's own cache makes
// a rebuild cheap too) and reused with new data pointers.
//
//===----------------------------------------------------------------------===//
#include "KernelUtils.h"

#include <dnnl.h>

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
  DType c;
  auto tie() const {
    return std::tie(m, n, k, lda, ldb, ldc, transA, transB, accumulate, c);
  }
  bool operator<(const GemmKey &o) const { return tie() < o.tie(); }
};

/// A built matmul primitive with the memory descriptors of its operands.
struct GemmPrimitive {
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_desc_t a, b, c;
  std::string implementation;
};

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
  g.a = matrixDesc(key.m, key.k, key.lda, key.transA, dnnl_bf16);
  g.b = matrixDesc(key.k, key.n, key.ldb, key.transB, dnnl_bf16);
  g.c = matrixDesc(key.m, key.n, key.ldc, false,
                   key.c == DType::BF16 ? dnnl_bf16 : dnnl_f32);
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
  check(dnnl_primitive_desc_create(&pd, &desc, attr, cpuEngine(), nullptr),
        "matmul primitive descriptor");
  dnnl_primitive_attr_destroy(attr);
  const char *impl = nullptr;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  g.implementation = impl ? impl : "unknown";
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

} // namespace

void gemmBf16(bool transA, bool transB, int64_t m, int64_t n, int64_t k,
              const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
              bool accumulate, void *c, DType cType, int64_t ldc) {
  ThreadGemms &gemms = threadGemms();
  const GemmPrimitive &g =
      gemms.get({m, n, k, lda, ldb, ldc, transA, transB, accumulate, cType});
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

std::string gemmBf16Implementation() {
  return threadGemms()
      .get({64, 64, 64, 64, 64, 64, false, false, false, DType::F32})
      .implementation;
}

} // namespace accel::rt::cpu::detail
