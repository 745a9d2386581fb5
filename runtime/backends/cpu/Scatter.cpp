//===- Scatter.cpp - scatter_add, the adjoint of gather ------------------===//
//
// Work is split over (outer index, column block) pairs; within one, the
// indices are visited in order, so repeated indices accumulate in the same
// order on any thread count and results are bitwise reproducible.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <cstring>

namespace accel::rt::cpu {

using namespace detail;

void scatterAdd(const TensorView &updates, const TensorView &indices,
                const TensorView &out, int64_t axis, ThreadPool &pool,
                std::optional<int64_t> skip, const TensorView *init) {
  const char *kernel = "scatter_add";
  if (updates.dtype != DType::F32 || out.dtype != DType::F32)
    unsupportedType(kernel, updates.dtype);
  require(indices.dtype == DType::I64 || indices.dtype == DType::I32, kernel,
          std::string("indices must be i64 or i32, got ") +
              dtypeName(indices.dtype));
  require(axis >= 0 && axis < out.rank(), kernel, "axis out of range");
  int64_t axisLen = out.shape[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= out.shape[d];
  for (int64_t d = axis + 1; d < out.rank(); ++d)
    inner *= out.shape[d];
  int64_t count = indices.numel();
  require(updates.numel() == outer * count * inner, kernel,
          "updates " + shapeToString(updates.shape) + " do not match output " +
              shapeToString(out.shape) + " and indices " +
              shapeToString(indices.shape));
  std::vector<int64_t> idx = checkedIndices(kernel, indices, axisLen, axis);
  if (skip) {
    require(*skip >= -axisLen && *skip < axisLen, kernel,
            "skip index " + std::to_string(*skip) + " is out of range");
    int64_t skipped = *skip < 0 ? *skip + axisLen : *skip;
    for (int64_t &i : idx)
      if (i == skipped)
        i = -1; // not added below
  }

  const float *src = updates.as<float>();
  float *dst = out.as<float>();
  if (!init)
    std::memset(dst, 0, out.bytes());
  else if (init->data != out.data) {
    require(init->dtype == out.dtype && init->shape == out.shape, kernel,
            "init must match the output");
    copy(*init, out, pool);
  }
  constexpr int64_t kColumns = 256;
  int64_t blocks = (inner + kColumns - 1) / kColumns;
  pool.parallelFor(outer * blocks, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      int64_t o = u / blocks, c0 = (u % blocks) * kColumns;
      int64_t c1 = std::min(inner, c0 + kColumns);
      for (int64_t j = 0; j < count; ++j) {
        if (idx[j] < 0)
          continue;
        const float *row = src + (o * count + j) * inner;
        float *target = dst + (o * axisLen + idx[j]) * inner;
        for (int64_t c = c0; c < c1; ++c)
          target[c] += row[c];
      }
    }
  });
}

} // namespace accel::rt::cpu
