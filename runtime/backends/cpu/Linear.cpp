//===- Linear.cpp - Fully connected layer as one GEMM --------------------===//
//
// Every leading dim of the input folds into the GEMM's M, so a [B, S, K]
// activation is one [B*S, K] x [K, N] product, split over the pool like
// matmul's (BLAS runs single-threaded inside each share); the bias is written
// into the output first and the GEMM accumulates onto it (beta = 1), saving
// a pass.
//
//===----------------------------------------------------------------------===//
#include "backends/cpu/CpuKernels.h"
#include "backends/cpu/KernelUtils.h"

#include <cstring>

namespace accel::rt::cpu {

void linear(const TensorView &x, const TensorView &w, const TensorView &bias,
            const TensorView &out, bool weightInOut, ThreadPool &pool) {
  if (x.dtype != DType::F32 || w.dtype != DType::F32 ||
      out.dtype != DType::F32 || (bias.data && bias.dtype != DType::F32))
    throw KernelError("linear: only f32 is supported, got " +
                      std::string(dtypeName(x.dtype)));
  if (w.rank() != 2 || x.rank() < 1)
    throw KernelError("linear: expects a 2-D weight");
  const int64_t k = x.shape.back();
  const int64_t n = weightInOut ? w.shape[1] : w.shape[0];
  const int64_t m = numElements(Shape(x.shape.begin(), x.shape.end() - 1));
  Shape expected = x.shape;
  expected.back() = n;
  if ((weightInOut ? w.shape[0] : w.shape[1]) != k || out.shape != expected ||
      (bias.data && bias.shape != Shape{n}))
    throw KernelError("linear: input " + shapeToString(x.shape) + ", weight " +
                      shapeToString(w.shape) + ", bias " +
                      (bias.data ? shapeToString(bias.shape) : "none") +
                      " and output " + shapeToString(out.shape) +
                      " do not fit together");
  float *y = out.as<float>();
  if (bias.data) {
    const float *b = bias.as<float>();
    pool.parallelFor(m, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        std::memcpy(y + r * n, b, n * sizeof(float));
    });
  }
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    if (!bias.data)
      std::memset(y, 0, m * n * sizeof(float));
    return;
  }
  detail::GemmShape gemm;
  gemm.m = m;
  gemm.n = n;
  gemm.k = k;
  gemm.transB = !weightInOut;
  gemm.beta = bias.data ? 1.0f : 0.0f;
  const int64_t origin = 0;
  detail::parallelGemm(gemm, 1, &origin, &origin, x.as<float>(), w.as<float>(),
                       y, pool);
}

} // namespace accel::rt::cpu
