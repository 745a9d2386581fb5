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

#include <algorithm>
#include <cmath>
#include <cstring>
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

/// What the mean divides by: the rows counted here, or the count over every
/// rank when the rows are split across ranks.
int64_t divisor(const char *kernel, const TensorView *count, int64_t counted) {
  if (!count)
    return counted;
  require(count->dtype == DType::I64 && count->numel() == 1, kernel,
          "count must be one int64");
  return count->as<int64_t>()[0];
}

/// log(sum(exp(x))) of one row, using `scratch` (at least n floats).
double logSumExp(const float *x, int64_t n, float *scratch) {
  float m = rowMax(x, n);
  mapFloat8(x, scratch, n, [m](Float8 v) { return expVec(v - m); });
  return m + std::log(rowSum(scratch, n));
}

/// Writes into `out` (which may be `row`) the gradient of one row's
/// smoothed cross-entropy, times `scale`:
/// (softmax(row) - off - (on - off) [j == y]) * scale. Returns the row's
/// log-sum-exp.
double rowGradient(const float *row, float *out, int64_t n, int64_t y,
                   float offValue, float onValue, float scale) {
  float m = rowMax(row, n);
  mapFloat8(row, out, n, [m](Float8 v) { return expVec(v - m); });
  double sum = rowSum(out, n);
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j)
    out[j] = (out[j] * inv - offValue) * scale;
  out[y] -= (onValue - offValue) * scale;
  return m + std::log(sum);
}

} // namespace

void crossEntropy(const TensorView &logits, const TensorView &labels,
                  const TensorView *count, const TensorView &out,
                  int64_t ignoreIndex, double smoothing, ThreadPool &pool) {
  Rows rows = checkOperands("cross_entropy", logits, labels);
  require(out.dtype == DType::F32 && out.numel() == 1, "cross_entropy",
          "the result must be one float32");
  int64_t counted = divisor(
      "cross_entropy", count,
      countedRows("cross_entropy", labels, rows, ignoreIndex));
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
                      const TensorView &dloss, const TensorView *count,
                      const TensorView &out, int64_t ignoreIndex,
                      double smoothing, ThreadPool &pool) {
  Rows rows = checkOperands("cross_entropy_grad", logits, labels);
  require(dloss.dtype == DType::F32 && dloss.numel() == 1,
          "cross_entropy_grad", "dloss must be one float32");
  require(out.dtype == DType::F32 && out.numel() == logits.numel(),
          "cross_entropy_grad", "the result must be shaped like the logits");
  int64_t counted = divisor(
      "cross_entropy_grad", count,
      countedRows("cross_entropy_grad", labels, rows, ignoreIndex));
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
      rowGradient(row, grow, rows.c, y, offValue, onValue, scale);
    }
  });
}

void linearCrossEntropy(const TensorView &input, const TensorView &weight,
                        const TensorView &labels, const TensorView *count,
                        const TensorView *cotangent, const TensorView &loss,
                        const TensorView &inputGrad,
                        const TensorView &weightGrad, int64_t ignoreIndex,
                        double smoothing, bool weightInOut, ThreadPool &pool) {
  const char *kernel = "linear_cross_entropy";
  // fp32, or a bf16 (fp16) head: input and weight (and their gradients) of
  // that type, the logits and the loss in fp32.
  const bool half = detail::isHalfFloat(input.dtype);
  const DType operand = input.dtype;
  for (const TensorView *v : {&input, &weight, &inputGrad, &weightGrad})
    require(v->dtype == operand, kernel,
            "input, weight and their gradients must all be float32, all "
            "bfloat16 or all float16");
  require(loss.dtype == DType::F32, kernel, "the loss must be float32");
  require(weight.rank() == 2 && input.rank() >= 1, kernel,
          "needs a 2-D weight and an input with a feature dim");
  const int64_t k = input.shape.back();
  const int64_t c = weightInOut ? weight.shape[1] : weight.shape[0];
  require((weightInOut ? weight.shape[0] : weight.shape[1]) == k &&
              inputGrad.numel() == input.numel() &&
              weightGrad.numel() == weight.numel() && loss.numel() == 1,
          kernel, "input " + shapeToString(input.shape) + " and weight " +
                      shapeToString(weight.shape) + " do not fit");
  require(labels.dtype == DType::I64 || labels.dtype == DType::I32, kernel,
          "labels must be int64 or int32");
  Rows rows{labels.numel(), c};
  require(rows.n * k == input.numel(), kernel,
          "labels " + shapeToString(labels.shape) + " do not match input " +
              shapeToString(input.shape));
  const int64_t counted =
      divisor(kernel, count, countedRows(kernel, labels, rows, ignoreIndex));
  // The logit gradients times the loss's cotangent (a loss scale) before
  // a low-precision head rounds them, as crossEntropyGrad's dloss.
  float seed = 1.0f;
  if (cotangent) {
    require(cotangent->dtype == DType::F32 && cotangent->numel() == 1, kernel,
            "the cotangent must be one float32");
    seed = cotangent->as<float>()[0];
  }
  const float scale = seed / static_cast<float>(counted);
  const float offValue = static_cast<float>(smoothing / c);
  const float onValue = static_cast<float>(1 - smoothing) + offValue;
  const size_t elementBytes = dtypeSize(operand);
  const auto *x = static_cast<const char *>(input.data);
  auto *dx = static_cast<char *>(inputGrad.data);
  if (rows.n == 0 || k == 0 || c == 0) {
    std::memset(inputGrad.data, 0, inputGrad.bytes());
    std::memset(weightGrad.data, 0, weightGrad.bytes());
    loss.as<float>()[0] = static_cast<float>(0.0 / counted);
    return;
  }
  // A bf16 (fp16) head: each block's logit gradient rounded to the
  // operands' type for the
  // gradient GEMMs; the weight gradient summed over blocks in fp32 and
  // rounded once at the end.
  const detail::GemmTypes toLogits{operand, DType::F32},
      toOperand{operand, operand}, toF32{operand, DType::F32};
  std::vector<float> weightGrad32(half ? weightGrad.numel() : 0);
  const TensorView dw32 =
      half ? TensorView{weightGrad32.data(), DType::F32, weightGrad.shape}
           : weightGrad;

  // Blocks of about 64 MiB of logits: large enough for efficient GEMMs
  // (the weight gradient accumulates one GEMM per block), small beside
  // the whole logits of a GPT step (411 MB at 2048 x 50257).
  const int64_t blockRows =
      std::max<int64_t>(1, std::min<int64_t>(rows.n, (int64_t(1) << 24) / c));
  std::vector<float> logits(blockRows * c);
  std::vector<uint16_t> logitsGrad16(half ? blockRows * c : 0);
  std::vector<double> rowLoss(rows.n, 0.0);
  const int64_t origin = 0;
  for (int64_t r0 = 0; r0 < rows.n; r0 += blockRows) {
    const int64_t m = std::min(blockRows, rows.n - r0);
    const char *xb = x + r0 * k * elementBytes;
    float *g = logits.data();
    // logits = x W^T (or x W)
    detail::GemmShape forward;
    forward.m = m;
    forward.n = c;
    forward.k = k;
    forward.transB = !weightInOut;
    detail::parallelGemm(forward, 1, &origin, &origin, xb, weight.data, g,
                         toLogits, pool);
    // Each row's loss, then its logits turned into their gradient.
    pool.parallelFor(m, rowGrainFor(c), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        float *row = g + i * c;
        int64_t y = labelAt(labels, r0 + i);
        if (y == ignoreIndex) {
          std::fill(row, row + c, 0.0f);
          continue;
        }
        // What the loss needs from the logits, before they are overwritten.
        double rowTotal = smoothing == 0 ? 0.0 : rowSum(row, c);
        double picked = row[y];
        double lse = rowGradient(row, row, c, y, offValue, onValue, scale);
        double nll = lse - picked;
        rowLoss[r0 + i] = smoothing == 0
                              ? nll
                              : (1 - smoothing) * nll +
                                    smoothing * (lse - rowTotal / c);
      }
    });
    const void *grad = g;
    if (half) {
      TensorView block{g, DType::F32, {m, c}};
      cast(block, TensorView{logitsGrad16.data(), operand, {m, c}}, pool);
      grad = logitsGrad16.data();
    }
    // dx = g W (or g W^T)
    detail::GemmShape back;
    back.m = m;
    back.n = k;
    back.k = c;
    back.transB = weightInOut;
    detail::parallelGemm(back, 1, &origin, &origin, grad, weight.data,
                         dx + r0 * k * elementBytes, toOperand, pool);
    // dW += g^T x (or x^T g), accumulated block after block.
    detail::GemmShape wgrad;
    wgrad.transA = true;
    wgrad.beta = r0 == 0 ? 0.0f : 1.0f;
    if (!weightInOut) {
      wgrad.m = c;
      wgrad.n = k;
      wgrad.k = m;
      detail::parallelGemm(wgrad, 1, &origin, &origin, grad, xb, dw32.data,
                           toF32, pool);
    } else {
      wgrad.m = k;
      wgrad.n = c;
      wgrad.k = m;
      detail::parallelGemm(wgrad, 1, &origin, &origin, xb, grad, dw32.data,
                           toF32, pool);
    }
  }
  if (half)
    cast(dw32, weightGrad, pool);
  double total = 0;
  for (double l : rowLoss)
    total += l;
  loss.as<float>()[0] = static_cast<float>(total / static_cast<double>(counted));
}

} // namespace accel::rt::cpu
