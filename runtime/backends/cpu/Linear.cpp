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
  // fp32, or bf16 (fp16) input and weight, products summed in fp32, into
  // an output of their type or fp32; the bias has the output's type.
  bool half = detail::isHalfFloat(x.dtype) && w.dtype == x.dtype;
  bool f32 = x.dtype == DType::F32 && w.dtype == DType::F32;
  if (!(f32 && out.dtype == DType::F32) &&
      !(half && (out.dtype == x.dtype || out.dtype == DType::F32)))
    throw KernelError(std::string("linear: no product of ") +
                      dtypeName(x.dtype) + " input and " + dtypeName(w.dtype) +
                      " weight into " + dtypeName(out.dtype));
  if (bias.data && bias.dtype != out.dtype)
    throw KernelError(std::string("linear: a ") + dtypeName(bias.dtype) +
                      " bias for a " + dtypeName(out.dtype) + " output");
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
  auto *y = static_cast<char *>(out.data);
  const size_t rowBytes = static_cast<size_t>(n) * dtypeSize(out.dtype);
  if (bias.data) {
    const auto *b = static_cast<const char *>(bias.data);
    pool.parallelFor(m, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        std::memcpy(y + r * rowBytes, b, rowBytes);
    });
  }
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    if (!bias.data)
      std::memset(y, 0, m * rowBytes);
    return;
  }
  detail::GemmShape gemm;
  gemm.m = m;
  gemm.n = n;
  gemm.k = k;
  gemm.transB = !weightInOut;
  gemm.beta = bias.data ? 1.0f : 0.0f;
  const int64_t origin = 0;
  detail::parallelGemm(gemm, 1, &origin, &origin, x.data, w.data, y,
                       detail::GemmTypes{x.dtype, out.dtype}, pool);
}

} // namespace accel::rt::cpu
