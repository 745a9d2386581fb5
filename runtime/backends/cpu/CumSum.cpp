//===- CumSum.cpp - running sums along one axis --------------------------===//
//
// Each (outer, inner) line along the axis is independent; lines are split
// over the pool. The sum is carried in double for f32 (rounded once per
// element, as PyTorch's CPU kernel does) and in the integer type otherwise,
// with unsigned arithmetic so overflow wraps instead of being undefined.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <type_traits>

namespace accel::rt::cpu {

using namespace detail;

namespace {

template <typename T, typename Acc>
void cumsumLines(const TensorView &x, const TensorView &out, int64_t axis,
                 bool exclusive, bool reverse, ThreadPool &pool) {
  int64_t len = x.shape[axis], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= x.shape[d];
  for (int64_t d = axis + 1; d < x.rank(); ++d)
    inner *= x.shape[d];
  const T *src = x.as<T>();
  T *dst = out.as<T>();
  pool.parallelFor(outer * inner, rowGrainFor(len), [&](int64_t l0, int64_t l1) {
    for (int64_t line = l0; line < l1; ++line) {
      int64_t base = (line / inner) * len * inner + line % inner;
      Acc sum = 0;
      for (int64_t k = 0; k < len; ++k) {
        int64_t at = base + (reverse ? len - 1 - k : k) * inner;
        Acc value = static_cast<Acc>(src[at]);
        if (!exclusive)
          sum += value;
        dst[at] = static_cast<T>(sum);
        if (exclusive)
          sum += value;
      }
    }
  });
}

} // namespace

void cumsum(const TensorView &x, const TensorView &out, int64_t axis,
            bool exclusive, bool reverse, ThreadPool &pool) {
  const char *kernel = "cumsum";
  requireSameType(kernel, x, out);
  require(x.shape == out.shape, kernel,
          "output " + shapeToString(out.shape) + " differs from input " +
              shapeToString(x.shape));
  require(axis >= 0 && axis < x.rank(), kernel, "axis out of range");
  switch (x.dtype) {
  case DType::F32:
    return cumsumLines<float, double>(x, out, axis, exclusive, reverse, pool);
  case DType::I32:
    return cumsumLines<int32_t, uint32_t>(x, out, axis, exclusive, reverse, pool);
  case DType::I64:
    return cumsumLines<int64_t, uint64_t>(x, out, axis, exclusive, reverse, pool);
  default:
    unsupportedType(kernel, x.dtype);
  }
}

} // namespace accel::rt::cpu
