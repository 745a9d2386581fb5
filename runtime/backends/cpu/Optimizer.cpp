//===- Optimizer.cpp - Gradient norm, schedules and optimizer updates -----===//
//
// The update kernels follow torch.optim's single-tensor code path operation
// by operation: hyper-parameters are combined in double and rounded to
// float once, tensor math is float32 in PyTorch's order. This file is built
// with -ffp-contract=off so the compiler adds no fused multiply-adds that
// PyTorch does not have; the ones it has (lerp, add with alpha) are
// std::fma here.
//
// Results may alias their operands (the memory planner updates parameters
// and optimizer state in place): every element is read before it is written.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace accel::rt::cpu {

using namespace detail;

namespace {

constexpr int64_t kNormChunk = 1 << 16;

void requireFloat(const char *kernel, const TensorView &v, const char *what) {
  require(v.dtype == DType::F32, kernel,
          std::string(what) + " must be float32, not " + dtypeName(v.dtype));
}

void requireLikeParam(const char *kernel, const TensorView &v,
                      const TensorView &param) {
  requireFloat(kernel, v, "every tensor");
  require(v.numel() == param.numel(), kernel,
          "a tensor of " + shapeToString(v.shape) +
              " does not match the parameter's " + shapeToString(param.shape));
}

void requireScalars(const char *kernel, const TensorView &lr,
                    const TensorView &step, const TensorView &scale,
                    const TensorView &skip) {
  require(lr.dtype == DType::F64 && lr.numel() == 1, kernel,
          "lr must be one float64");
  require(step.dtype == DType::I64 && step.numel() == 1, kernel,
          "step must be one int64");
  require(!scale.data || (scale.dtype == DType::F32 && scale.numel() == 1),
          kernel, "grad_scale must be one float32");
  require(!skip.data || (skip.dtype == DType::Bool && skip.numel() == 1),
          kernel, "skip must be one bool");
}

bool skipped(const TensorView &skip) {
  return skip.data && skip.as<uint8_t>()[0] != 0;
}

float gradScale(const TensorView &scale) {
  return scale.data ? scale.as<float>()[0] : 1.0f;
}

void copyIfDistinct(const TensorView &from, const TensorView &to) {
  if (from.data != to.data)
    std::memcpy(to.data, from.data, from.bytes());
}

} // namespace

void globalNorm(const std::vector<TensorView> &tensors, const TensorView &out,
                ThreadPool &pool) {
  // Fixed chunks, summed in order: the same value on any thread count.
  double total = 0;
  for (const TensorView &t : tensors) {
    requireFloat("global_norm", t, "operand");
    int64_t n = t.numel(), chunks = (n + kNormChunk - 1) / kNormChunk;
    std::vector<double> partial(chunks, 0.0);
    const float *x = t.as<float>();
    pool.parallelFor(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double s = 0;
        for (int64_t i = c * kNormChunk, e = std::min(n, i + kNormChunk);
             i < e; ++i)
          s += static_cast<double>(x[i]) * x[i];
        partial[c] = s;
      }
    });
    for (double s : partial)
      total += s;
  }
  out.as<float>()[0] = static_cast<float>(std::sqrt(total));
}

void unscaleGradients(const TensorView &invScale,
                      const std::vector<TensorView> &grads,
                      const TensorView &foundInf,
                      const std::vector<TensorView> &out, ThreadPool &pool) {
  const char *kernel = "unscale_gradients";
  requireFloat(kernel, invScale, "inv_scale");
  require(invScale.numel() == 1, kernel, "inv_scale must be one float32");
  require(foundInf.dtype == DType::Bool && foundInf.numel() == 1, kernel,
          "found_inf must be one bool");
  require(grads.size() == out.size(), kernel, "one result per gradient");
  const float inv = invScale.as<float>()[0];
  bool found = false;
  for (size_t t = 0; t < grads.size(); ++t) {
    requireFloat(kernel, grads[t], "every gradient");
    requireFloat(kernel, out[t], "every result");
    require(grads[t].numel() == out[t].numel(), kernel,
            "a result shaped unlike its gradient");
    const float *g = grads[t].as<float>();
    float *u = out[t].as<float>();
    const int64_t n = grads[t].numel();
    const int64_t chunks = (n + kGrainCheap - 1) / kGrainCheap;
    std::vector<uint8_t> bad(chunks, 0);
    pool.parallelFor(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        bool any = false;
        for (int64_t i = c * kGrainCheap, e = std::min(n, i + kGrainCheap);
             i < e; ++i) {
          float v = g[i];
          any |= !std::isfinite(v); // the scaled value, as PyTorch checks it
          u[i] = v * inv;
        }
        bad[c] = any;
      }
    });
    for (uint8_t b : bad)
      found |= b != 0;
  }
  foundInf.as<uint8_t>()[0] = found;
}

void updateLossScale(const TensorView &scale, const TensorView &tracker,
                     const TensorView &foundInf, const TensorView &newScale,
                     const TensorView &newTracker,
                     const LossScaleConfig &config) {
  const char *kernel = "update_loss_scale";
  require(scale.dtype == DType::F32 && scale.numel() == 1 &&
              newScale.dtype == DType::F32 && newScale.numel() == 1,
          kernel, "the scale must be one float32");
  require(tracker.dtype == DType::I64 && tracker.numel() == 1 &&
              newTracker.dtype == DType::I64 && newTracker.numel() == 1,
          kernel, "the growth tracker must be one int64");
  require(foundInf.dtype == DType::Bool && foundInf.numel() == 1, kernel,
          "found_inf must be one bool");
  float current = scale.as<float>()[0];
  int64_t count = tracker.as<int64_t>()[0];
  // torch._amp_update_scale_'s branches, products in double rounded to
  // float as its kernels compute them.
  if (foundInf.as<uint8_t>()[0] != 0) {
    current = static_cast<float>(current * config.backoffFactor);
    count = 0;
  } else if (count + 1 == config.growthInterval) {
    float grown = static_cast<float>(current * config.growthFactor);
    if (std::isfinite(grown)) // not past fp32's range to inf
      current = grown;
    count = 0;
  } else {
    count = count + 1;
  }
  newScale.as<float>()[0] = current;
  newTracker.as<int64_t>()[0] = count;
}

double scheduledLearningRate(LrScheduleKind kind, double lr, int64_t step,
                             int64_t warmup, int64_t total, double cycles) {
  // transformers.optimization's lambdas, evaluated at `step`.
  if (kind == LrScheduleKind::Constant)
    return lr;
  if (step < warmup)
    return lr * (static_cast<double>(step) /
                 std::max<double>(1.0, static_cast<double>(warmup)));
  double afterWarmup = static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (kind) {
  case LrScheduleKind::Linear:
    return lr * std::max(0.0, static_cast<double>(total - step) / afterWarmup);
  case LrScheduleKind::Cosine: {
    double progress = static_cast<double>(step - warmup) / afterWarmup;
    return lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * cycles * 2.0 *
                                                    progress)));
  }
  default:
    return lr;
  }
}

void lrSchedule(const TensorView &step, const TensorView &out,
                LrScheduleKind kind, double lr, int64_t warmup, int64_t total,
                double cycles) {
  require(step.dtype == DType::I64 && out.dtype == DType::F64, "lr_schedule",
          "expects an int64 step and a float64 result");
  out.as<double>()[0] = scheduledLearningRate(kind, lr, step.as<int64_t>()[0],
                                              warmup, total, cycles);
}

void adamw(const AdamWOperands &in, const AdamWResults &out,
           const AdamWConfig &config, ThreadPool &pool) {
  for (const TensorView *v : {&in.param, &in.grad, &in.expAvg, &in.expAvgSq,
                              &out.param, &out.expAvg, &out.expAvgSq})
    requireLikeParam("adamw", *v, in.param);
  requireScalars("adamw", in.lr, in.step, in.gradScale, in.skip);
  if (skipped(in.skip)) {
    copyIfDistinct(in.param, out.param);
    copyIfDistinct(in.expAvg, out.expAvg);
    copyIfDistinct(in.expAvgSq, out.expAvgSq);
    return;
  }
  const double lr = in.lr.as<double>()[0];
  const double t = static_cast<double>(in.step.as<int64_t>()[0] + 1);
  const float decay = static_cast<float>(1 - lr * config.weightDecay);
  const bool decays = config.weightDecay != 0;
  const float w1 = static_cast<float>(1 - config.beta1);
  const bool smallWeight = std::abs(w1) < 0.5f;
  const float b2 = static_cast<float>(config.beta2);
  const float w2 = static_cast<float>(1 - config.beta2);
  const double bias1 = 1 - std::pow(config.beta1, t);
  const double bias2 = 1 - std::pow(config.beta2, t);
  const float negStepSize = static_cast<float>(-(lr / bias1));
  const float bias2Sqrt = static_cast<float>(std::sqrt(bias2));
  const float eps = static_cast<float>(config.epsilon);
  const float scale = gradScale(in.gradScale);
  const bool scaled = in.gradScale.data != nullptr;

  const float *p = in.param.as<float>(), *g = in.grad.as<float>();
  const float *m = in.expAvg.as<float>(), *v = in.expAvgSq.as<float>();
  float *po = out.param.as<float>(), *mo = out.expAvg.as<float>();
  float *vo = out.expAvgSq.as<float>();
  pool.parallelFor(in.param.numel(), kGrainCheap, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float gi = scaled ? g[i] * scale : g[i];
      float pi = decays ? p[i] * decay : p[i];
      // torch.lerp: from the nearer end, with one fused multiply-add.
      float mi = smallWeight ? std::fma(w1, gi - m[i], m[i])
                             : std::fma(w1 - 1.0f, gi - m[i], gi);
      float vi = v[i] * b2 + w2 * gi * gi;
      float denom = std::sqrt(vi) / bias2Sqrt + eps;
      po[i] = pi + negStepSize * mi / denom;
      mo[i] = mi;
      vo[i] = vi;
    }
  });
}

void sgd(const SgdOperands &in, const SgdResults &out, const SgdConfig &config,
         ThreadPool &pool) {
  const bool hasBuffer = in.momentumBuffer.data != nullptr;
  require(hasBuffer == (out.momentumBuffer.data != nullptr), "sgd",
          "the momentum buffer must be an operand and a result together");
  for (const TensorView *v : {&in.param, &in.grad, &out.param})
    requireLikeParam("sgd", *v, in.param);
  if (hasBuffer) {
    requireLikeParam("sgd", in.momentumBuffer, in.param);
    requireLikeParam("sgd", out.momentumBuffer, in.param);
  }
  requireScalars("sgd", in.lr, in.step, in.gradScale, in.skip);
  if (skipped(in.skip)) {
    copyIfDistinct(in.param, out.param);
    if (hasBuffer)
      copyIfDistinct(in.momentumBuffer, out.momentumBuffer);
    return;
  }
  const float negLr = static_cast<float>(-in.lr.as<double>()[0]);
  const float wd = static_cast<float>(config.weightDecay);
  const float mu = static_cast<float>(config.momentum);
  const float keep = static_cast<float>(1 - config.dampening);
  const bool first = in.step.as<int64_t>()[0] == 0;
  const float scale = gradScale(in.gradScale);
  const bool scaled = in.gradScale.data != nullptr;

  const float *p = in.param.as<float>(), *g = in.grad.as<float>();
  const float *b = hasBuffer ? in.momentumBuffer.as<float>() : nullptr;
  float *po = out.param.as<float>();
  float *bo = hasBuffer ? out.momentumBuffer.as<float>() : nullptr;
  pool.parallelFor(in.param.numel(), kGrainCheap, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      // Every Tensor.add(other, alpha=a) of torch.optim.SGD is one fused
      // multiply-add in ATen's kernel.
      float d = scaled ? g[i] * scale : g[i];
      if (config.weightDecay != 0)
        d = std::fma(p[i], wd, d);
      if (hasBuffer) {
        float bi = first ? d : std::fma(d, keep, b[i] * mu);
        bo[i] = bi;
        d = config.nesterov ? std::fma(bi, mu, d) : bi;
      }
      po[i] = std::fma(d, negLr, p[i]);
    }
  });
}

} // namespace accel::rt::cpu
