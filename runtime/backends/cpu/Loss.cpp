//===- Loss.cpp - Cross-entropy and its gradient --------------------------===//
//
// Row-wise over [N, C] logits: each row's log-sum-exp is taken without
// storing log-probabilities (a GPT's logits are the largest tensor of a
// step). Per-row losses are summed in row order in double, so the loss does
// not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"
#include "VectorMath.h"

#include <cmath>
#include <vector>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// The label of row r as int64 (labels are I64 or I32).
int64_t labelAt(const TensorView &labels, int64_t r) {
  return labels.dtype == DType::I64 ? labels.as<int64_t>()[r]
                                    : labels.as<int32_t>()[r];
}

struct Rows {
  int64_t n, c;
};

Rows checkOperands(const char *kernel, const TensorView &logits,
                   const TensorView &labels) {
  if (logits.dtype != DType::F32)
    unsupportedType(kernel, logits.dtype);
  require(labels.dtype == DType::I64 || labels.dtype == DType::I32, kernel,
          std::string("labels must be int64 or int32, not ") +
              dtypeName(labels.dtype));
  int64_t c = logits.shape.empty() ? 1 : logits.shape.back();
  require(c > 0 && labels.numel() * c == logits.numel(), kernel,
          "labels " + shapeToString(labels.shape) + " do not match logits " +
              shapeToString(logits.shape));
  return {labels.numel(), c};
}

/// Rows whose label counts; throws naming the first label out of range.
int64_t countedRows(const char *kernel, const TensorView &labels, Rows rows,
                    int64_t ignoreIndex) {
  int64_t counted = 0;
  for (int64_t r = 0; r < rows.n; ++r) {
    int64_t y = labelAt(labels, r);
    if (y == ignoreIndex)
      continue;
    if (y < 0 || y >= rows.c)
      fail(kernel, "label " + std::to_string(y) + " at position " +
                       std::to_string(r) + " of " +
                       shapeToString(labels.shape) +
                       " is outside [0, " + std::to_string(rows.c) + ")");
    ++counted;
  }
  return counted;
}

/// log(sum(exp(x))) of one row, using `scratch` (at least n floats).
double logSumExp(const float *x, int64_t n, float *scratch) {
  float m = rowMax(x, n);
  mapFloat8(x, scratch, n, [m](Float8 v) { return expVec(v - m); });
  return m + std::log(rowSum(scratch, n));
}

} // namespace

void crossEntropy(const TensorView &logits, const TensorView &labels,
                  const TensorView &out, int64_t ignoreIndex,
                  double smoothing, ThreadPool &pool) {
  Rows rows = checkOperands("cross_entropy", logits, labels);
  require(out.dtype == DType::F32 && out.numel() == 1, "cross_entropy",
          "the result must be one float32");
  int64_t counted = countedRows("cross_entropy", labels, rows, ignoreIndex);
  std::vector<double> rowLoss(rows.n, 0.0);
  const float *x = logits.as<float>();
  pool.parallelFor(rows.n, rowGrainFor(rows.c), [&](int64_t r0, int64_t r1) {
    std::vector<float> scratch(rows.c);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t y = labelAt(labels, r);
      if (y == ignoreIndex)
        continue;
      const float *row = x + r * rows.c;
      double lse = logSumExp(row, rows.c, scratch.data());
      double nll = lse - row[y];
      if (smoothing == 0) {
        rowLoss[r] = nll;
        continue;
      }
      // -mean_c log p_c = lse - mean_c x_c
      double smooth = lse - rowSum(row, rows.c) / rows.c;
      rowLoss[r] = (1 - smoothing) * nll + smoothing * smooth;
    }
  });
  double total = 0;
  for (double l : rowLoss)
    total += l;
  // No counted row gives 0/0 = NaN, as PyTorch's mean does.
  out.as<float>()[0] = static_cast<float>(total / static_cast<double>(counted));
}

void crossEntropyGrad(const TensorView &logits, const TensorView &labels,
                      const TensorView &dloss, const TensorView &out,
                      int64_t ignoreIndex, double smoothing,
                      ThreadPool &pool) {
  Rows rows = checkOperands("cross_entropy_grad", logits, labels);
  require(dloss.dtype == DType::F32 && dloss.numel() == 1,
          "cross_entropy_grad", "dloss must be one float32");
  require(out.dtype == DType::F32 && out.numel() == logits.numel(),
          "cross_entropy_grad", "the result must be shaped like the logits");
  int64_t counted =
      countedRows("cross_entropy_grad", labels, rows, ignoreIndex);
  const float scale = dloss.as<float>()[0] / static_cast<float>(counted);
  const float offValue = static_cast<float>(smoothing / rows.c);
  const float onValue = static_cast<float>(1 - smoothing) + offValue;
  const float *x = logits.as<float>();
  float *g = out.as<float>();
  pool.parallelFor(rows.n, rowGrainFor(rows.c), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float *row = x + r * rows.c;
      float *grow = g + r * rows.c;
      int64_t y = labelAt(labels, r);
      if (y == ignoreIndex) {
        std::fill(grow, grow + rows.c, 0.0f);
        continue;
      }
      float m = rowMax(row, rows.c);
      mapFloat8(row, grow, rows.c, [m](Float8 v) { return expVec(v - m); });
      float inv = static_cast<float>(1.0 / rowSum(grow, rows.c));
      for (int64_t j = 0; j < rows.c; ++j)
        grow[j] = (grow[j] * inv - offValue) * scale;
      grow[y] -= (onValue - offValue) * scale;
    }
  });
}

} // namespace accel::rt::cpu
