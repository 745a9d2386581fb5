//===- DataMovement.cpp - Copy, transpose, slice, concat, gather ----------===//
//
// Kernels that only move elements, for any element size. Transpose, slice
// and broadcastTo are one strided gather: the output is written in order
// while the input is read at per-dim strides (permuted, stepped or zero).
// After dims are collapsed, contiguous runs become memcpy, broadcast runs
// fills, and a transposed innermost pair is copied in cache-sized tiles.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <cstring>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// Bytes per chunk of plain copies.
constexpr int64_t kCopyGrainBytes = 256 * 1024;
/// Side of the square tiles of a transposed copy.
constexpr int64_t kTile = 16;

/// dst[i] = src[i * stride] for i in [0, len), T standing for any type of
/// its size.
template <typename T>
void gatherRun(const T *__restrict src, T *__restrict dst, int64_t len,
               int64_t stride) {
  if (stride == 0) {
    T v = src[0];
    for (int64_t i = 0; i < len; ++i)
      dst[i] = v;
  } else {
    for (int64_t i = 0; i < len; ++i)
      dst[i] = src[i * stride];
  }
}

/// Tile of a transpose: dst[i * dstRow + j] = src[i + j * srcStride] for
/// i < rows, j < cols (both <= kTile). The tile goes through a small
/// contiguous buffer: reading the source lines directly column by column
/// would keep kTile lines a power-of-two stride apart live at once, which
/// collide in one L1 set and thrash.
template <typename T>
void transposeTile(const T *__restrict src, T *__restrict dst, int64_t rows,
                   int64_t cols, int64_t srcStride, int64_t dstRow) {
  T buf[kTile][kTile];
  for (int64_t j = 0; j < cols; ++j)
    for (int64_t i = 0; i < rows; ++i)
      buf[j][i] = src[i + j * srcStride];
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      dst[i * dstRow + j] = buf[j][i];
}

template <typename Fn>
void withElementType(const char *kernel, size_t size, Fn fn) {
  switch (size) {
  case 1:
    return fn(uint8_t{});
  case 2:
    return fn(uint16_t{});
  case 4:
    return fn(uint32_t{});
  case 8:
    return fn(uint64_t{});
  default:
    fail(kernel, "unsupported element size " + std::to_string(size));
  }
}

/// out[idx] = src[sum(idx[k] * srcStrides[k])] over out's shape, with
/// element offsets counted from `src` (strides may be negative or zero).
void stridedCopy(const char *kernel, const void *src,
                 const std::vector<int64_t> &srcStrides, const TensorView &out,
                 ThreadPool &pool) {
  LoopNest nest(out.shape, {srcStrides});
  size_t elem = dtypeSize(out.dtype);
  const char *s = static_cast<const char *>(src);
  char *d = static_cast<char *>(out.data);
  int rank = nest.rank();
  int64_t innerStride = nest.innerStride(0);

  if (innerStride == 1) {
    pool.parallelFor(
        nest.numel(), std::max<int64_t>(1, kCopyGrainBytes / elem),
        [&](int64_t begin, int64_t end) {
          nest.forEachRun(
              begin, end, [&](int64_t pos, const auto &off, int64_t len) {
                std::memcpy(d + pos * elem, s + off[0] * elem, len * elem);
              });
        });
    return;
  }

  withElementType(kernel, elem, [&](auto tag) {
    using T = decltype(tag);
    const T *ps = reinterpret_cast<const T *>(s);
    T *pd = reinterpret_cast<T *>(d);
    if (rank >= 2 && nest.strides[rank - 2][0] == 1 && innerStride != 0) {
      // Transposed innermost pair: out is [outer..., P, Q] reading src at
      // strides (1, innerStride). Tiles keep the Q source lines a tile
      // touches in cache while all P rows of the tile are written.
      int64_t p = nest.shape[rank - 2], q = nest.shape[rank - 1];
      Shape outerShape(nest.shape.begin(), nest.shape.end() - 2);
      std::vector<int64_t> outerStrides;
      for (int k = 0; k < rank - 2; ++k)
        outerStrides.push_back(nest.strides[k][0]);
      LoopNest outerNest(outerShape, {outerStrides});
      int64_t outer = outerNest.numel();
      std::vector<int64_t> outerOff(outer);
      outerNest.forEachRun(
          0, outer, [&](int64_t pos, const auto &off, int64_t len) {
            for (int64_t i = 0; i < len; ++i)
              outerOff[pos + i] = off[0] + i * outerNest.innerStride(0);
          });
      int64_t pTiles = (p + kTile - 1) / kTile;
      int64_t grain =
          std::max<int64_t>(1, kGrainCheap / (kTile * std::max<int64_t>(q, 1)));
      pool.parallelFor(outer * pTiles, grain, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
          int64_t o = u / pTiles, i0 = (u % pTiles) * kTile;
          int64_t rows = std::min(kTile, p - i0);
          const T *srcBase = ps + outerOff[o] + i0;
          T *dstBase = pd + (o * p + i0) * q;
          for (int64_t j0 = 0; j0 < q; j0 += kTile)
            transposeTile(srcBase + j0 * innerStride, dstBase + j0, rows,
                          std::min(kTile, q - j0), innerStride, q);
        }
      });
      return;
    }
    pool.parallelFor(
        nest.numel(), kGrainCheap, [&](int64_t begin, int64_t end) {
          nest.forEachRun(begin, end,
                          [&](int64_t pos, const auto &off, int64_t len) {
                            gatherRun(ps + off[0], pd + pos, len, innerStride);
                          });
        });
  });
}

} // namespace

void copy(const TensorView &x, const TensorView &out, ThreadPool &pool) {
  require(x.bytes() == out.bytes(), "copy",
          "byte sizes differ: " + std::to_string(x.bytes()) + " vs " +
              std::to_string(out.bytes()));
  const char *s = static_cast<const char *>(x.data);
  char *d = static_cast<char *>(out.data);
  pool.parallelFor(static_cast<int64_t>(x.bytes()), kCopyGrainBytes,
                   [&](int64_t begin, int64_t end) {
                     std::memcpy(d + begin, s + begin, end - begin);
                   });
}

void transpose(const TensorView &x, const TensorView &out,
               const std::vector<int64_t> &perm, ThreadPool &pool) {
  requireSameType("transpose", x, out);
  int64_t rank = x.rank();
  require(static_cast<int64_t>(perm.size()) == rank && out.rank() == rank,
          "transpose", "permutation rank mismatch");
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> inStrides = contiguousStrides(x.shape);
  std::vector<int64_t> srcStrides(rank);
  for (int64_t k = 0; k < rank; ++k) {
    int64_t p = perm[k];
    require(p >= 0 && p < rank && !seen[p], "transpose", "invalid permutation");
    seen[p] = true;
    require(out.shape[k] == x.shape[p], "transpose",
            "output shape does not match the permutation");
    srcStrides[k] = inStrides[p];
  }
  stridedCopy("transpose", x.data, srcStrides, out, pool);
}

void slice(const TensorView &x, const TensorView &out,
           const std::vector<int64_t> &starts,
           const std::vector<int64_t> &steps, ThreadPool &pool) {
  requireSameType("slice", x, out);
  int64_t rank = x.rank();
  require(static_cast<int64_t>(starts.size()) == rank &&
              static_cast<int64_t>(steps.size()) == rank && out.rank() == rank,
          "slice", "starts/steps rank mismatch");
  if (out.numel() == 0)
    return;
  std::vector<int64_t> inStrides = contiguousStrides(x.shape);
  std::vector<int64_t> srcStrides(rank);
  int64_t base = 0;
  for (int64_t k = 0; k < rank; ++k) {
    int64_t last = starts[k] + (out.shape[k] - 1) * steps[k];
    require(starts[k] >= 0 && starts[k] < x.shape[k] && last >= 0 &&
                last < x.shape[k],
            "slice",
            "dim " + std::to_string(k) + " reads outside [0, " +
                std::to_string(x.shape[k]) + ")");
    base += starts[k] * inStrides[k];
    srcStrides[k] = inStrides[k] * steps[k];
  }
  const char *src =
      static_cast<const char *>(x.data) + base * int64_t(dtypeSize(x.dtype));
  stridedCopy("slice", src, srcStrides, out, pool);
}

void broadcastTo(const TensorView &x, const TensorView &out, ThreadPool &pool) {
  requireSameType("broadcastTo", x, out);
  stridedCopy("broadcastTo", x.data,
              broadcastStrides("broadcastTo", x.shape, out.shape), out, pool);
}

void concat(const std::vector<TensorView> &inputs, const TensorView &out,
            int64_t axis, ThreadPool &pool) {
  require(axis >= 0 && axis < out.rank(), "concat", "axis out of range");
  int64_t total = 0;
  for (const TensorView &in : inputs) {
    requireSameType("concat", in, out);
    bool match = in.rank() == out.rank();
    for (int64_t d = 0; match && d < out.rank(); ++d)
      match = d == axis || in.shape[d] == out.shape[d];
    require(match, "concat",
            "input " + shapeToString(in.shape) + " does not fit output " +
                shapeToString(out.shape));
    total += in.shape[axis];
  }
  require(total == out.shape[axis], "concat",
          "input extents along the axis do not sum to the output's");
  int64_t outer = 1, inner = dtypeSize(out.dtype);
  for (int64_t d = 0; d < axis; ++d)
    outer *= out.shape[d];
  for (int64_t d = axis + 1; d < out.rank(); ++d)
    inner *= out.shape[d];
  // Each outer index copies one contiguous block per input.
  std::vector<int64_t> blockBytes, dstOffset;
  int64_t outRow = 0;
  for (const TensorView &in : inputs) {
    blockBytes.push_back(in.shape[axis] * inner);
    dstOffset.push_back(outRow);
    outRow += blockBytes.back();
  }
  char *d = static_cast<char *>(out.data);
  int64_t grain =
      std::max<int64_t>(1, kCopyGrainBytes / std::max<int64_t>(outRow, 1));
  pool.parallelFor(outer, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (size_t i = 0; i < inputs.size(); ++i)
        std::memcpy(d + o * outRow + dstOffset[i],
                    static_cast<const char *>(inputs[i].data) +
                        o * blockBytes[i],
                    blockBytes[i]);
  });
}

namespace detail {
std::vector<int64_t> checkedIndices(const char *kernel,
                                    const TensorView &indices, int64_t axisLen,
                                    int64_t axis) {
  // Normalize and check every index up front, so a bad one is reported
  // deterministically and before anything is written.
  int64_t count = indices.numel();
  std::vector<int64_t> idx(count);
  for (int64_t j = 0; j < count; ++j) {
    int64_t v = indices.dtype == DType::I64 ? indices.as<int64_t>()[j]
                                            : indices.as<int32_t>()[j];
    int64_t n = v < 0 ? v + axisLen : v;
    if (n < 0 || n >= axisLen) {
      std::string pos;
      int64_t rest = j;
      for (int64_t d = indices.rank(); d-- > 0;) {
        pos = std::to_string(rest % indices.shape[d]) +
              (pos.empty() ? "" : ", ") + pos;
        rest /= indices.shape[d];
      }
      fail(kernel, "index " + std::to_string(v) + " at position [" + pos +
                       "] is out of range for axis " + std::to_string(axis) +
                       " of size " + std::to_string(axisLen));
    }
    idx[j] = n;
  }
  return idx;
}
} // namespace detail

void gather(const TensorView &data, const TensorView &indices,
            const TensorView &out, int64_t axis, ThreadPool &pool) {
  requireSameType("gather", data, out);
  require(axis >= 0 && axis < data.rank(), "gather", "axis out of range");
  require(indices.dtype == DType::I64 || indices.dtype == DType::I32, "gather",
          std::string("indices must be i64 or i32, got ") +
              dtypeName(indices.dtype));
  int64_t axisLen = data.shape[axis];
  int64_t outer = 1, inner = dtypeSize(data.dtype);
  for (int64_t d = 0; d < axis; ++d)
    outer *= data.shape[d];
  for (int64_t d = axis + 1; d < data.rank(); ++d)
    inner *= data.shape[d];
  int64_t count = indices.numel();
  require(out.rank() == data.rank() - 1 + indices.rank() &&
              out.numel() ==
                  outer * count * (inner / int64_t(dtypeSize(data.dtype))),
          "gather", "output shape does not match data and indices");

  std::vector<int64_t> idx = checkedIndices("gather", indices, axisLen, axis);

  const char *src = static_cast<const char *>(data.data);
  char *dst = static_cast<char *>(out.data);
  int64_t grain =
      std::max<int64_t>(1, kCopyGrainBytes / std::max<int64_t>(inner, 1));
  pool.parallelFor(outer * count, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t o = r / count, j = r % count;
      std::memcpy(dst + r * inner, src + (o * axisLen + idx[j]) * inner, inner);
    }
  });
}

} // namespace accel::rt::cpu
