//===- CpuKernels.h - Host kernels of the CPU backend -----------*- C++ -*-===//
//
// One function per kernel family. Every kernel takes views whose shapes the
// compiler has already checked and computed (static shapes), so kernels only
// assert cheap invariants. Outputs never alias inputs unless stated.
//
// Element types: floating-point math is float32; binary, unary, softmax,
// the norms, reductions, GEMMs and attention also take bf16/fp16 tensors,
// computing in fp32 and rounding each result once; data movement (transpose,
// slice, concat, gather, broadcast, reshape copies) works on any element size;
// elementwise add/sub/mul/div/max/min/neg/abs, compare, where and reductions
// sum/max also accept int64 and int32. A kernel given a type it does not
// handle throws KernelError naming the kernel and the type.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_BACKENDS_CPU_CPUKERNELS_H
#define ACCEL_RUNTIME_BACKENDS_CPU_CPUKERNELS_H

#include "accel/runtime/Tensor.h"
#include "accel/runtime/ThreadPool.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel::rt::cpu {

struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class BinaryKind { Add, Sub, Mul, Div, Pow, Max, Min, Mod };
enum class UnaryKind {
  Neg, Abs, Exp, Log, Sqrt, Rsqrt, Reciprocal, Tanh, Erf, Relu, Sigmoid,
  Silu, GeluErf, GeluTanh, Sin, Cos, Floor, Ceil, Sign, Not /*bool only*/
};
enum class CompareKind { Eq, Ne, Lt, Le, Gt, Ge };
enum class ReduceKind { Sum, Mean, Max, Min, Prod };

/// out = a (op) b with NumPy broadcasting; out.shape is the broadcast shape.
/// a, b and out share one element type.
void binary(BinaryKind kind, const TensorView &a, const TensorView &b,
            const TensorView &out, ThreadPool &pool);

/// out = op(x), same shape and type.
void unary(UnaryKind kind, const TensorView &x, const TensorView &out,
           ThreadPool &pool);

/// out (Bool) = a (cmp) b with broadcasting.
void compare(CompareKind kind, const TensorView &a, const TensorView &b,
             const TensorView &out, ThreadPool &pool);

/// out = cond ? a : b with broadcasting over all three; cond is Bool.
void where(const TensorView &cond, const TensorView &a, const TensorView &b,
           const TensorView &out, ThreadPool &pool);

/// Element-type conversion (any numeric/bool type to any other), same shape.
/// Float to int truncates toward zero; to Bool is (x != 0).
void cast(const TensorView &x, const TensorView &out, ThreadPool &pool);

/// Batched matrix product, float32. a: [..., M, K] (or [..., K, M] when
/// transposeA), b: [..., K, N] (or [..., N, K] when transposeB); rank >= 2
/// each; batch dims broadcast to out's batch dims. out: [..., M, N].
/// Uses BLAS sgemm.
void matmul(const TensorView &a, const TensorView &b, const TensorView &out,
            bool transposeA, bool transposeB, ThreadPool &pool);

/// A fully connected layer, float32: out[..., N] = x[..., K] W^T + bias,
/// with W [N, K], or x W with W [K, N] when weightInOut. bias (optional,
/// data == nullptr when absent) is [N]. Implemented in Linear.cpp as one
/// sgemm over all leading rows, the bias preloaded into the output.
void linear(const TensorView &x, const TensorView &w, const TensorView &bias,
            const TensorView &out, bool weightInOut, ThreadPool &pool);

/// softmax (or log-softmax) of x along `axis` (non-negative).
void softmax(const TensorView &x, const TensorView &out, int64_t axis,
             bool log, ThreadPool &pool);

/// Normalizes over the trailing `normalizedRank` dims:
/// (x - mean) / sqrt(var + eps) * scale + bias. scale/bias may be null (data
/// == nullptr) and otherwise have the trailing shape. var is biased (1/N).
/// A bf16/fp16 x (and out) takes parameters of its type or f32.
void layerNorm(const TensorView &x, const TensorView &scale,
               const TensorView &bias, const TensorView &out,
               int64_t normalizedRank, float epsilon, ThreadPool &pool);

/// x / sqrt(mean(x^2) + eps) * scale over the trailing `normalizedRank` dims;
/// scale may be null (types as layerNorm).
void rmsNorm(const TensorView &x, const TensorView &scale,
             const TensorView &out, int64_t normalizedRank, float epsilon,
             ThreadPool &pool);

/// out = take(data, indices, axis): out.shape = data.shape[:axis] +
/// indices.shape + data.shape[axis+1:]. indices are I64 or I32; negative
/// indices count from the end. An index out of range throws KernelError
/// naming the index and its position.
void gather(const TensorView &data, const TensorView &indices,
            const TensorView &out, int64_t axis, ThreadPool &pool);

/// Running sum of x along `axis` into out (same shape): inclusive, or
/// `exclusive` of the element itself; from the end when `reverse`. f32 is
/// summed in double and rounded once (PyTorch's CPU cumsum); i32 and i64
/// wrap.
void cumsum(const TensorView &x, const TensorView &out, int64_t axis,
            bool exclusive, bool reverse, ThreadPool &pool);

/// The adjoint of gather: out = zeros, then updates' slices added at their
/// indices along `axis` (updates.shape = out.shape[:axis] + indices.shape +
/// out.shape[axis+1:]). Repeated indices accumulate in index order, so the
/// result is the same on any thread count. Out-of-range indices throw.
/// Slices at index `skip` (counted like the indices) are not added: the
/// gradient of an embedding with a padding index. With `init` the output
/// starts as init instead of zeros (init may be out's own buffer).
void scatterAdd(const TensorView &updates, const TensorView &indices,
                const TensorView &out, int64_t axis, ThreadPool &pool,
                std::optional<int64_t> skip = std::nullopt,
                const TensorView *init = nullptr);

/// out[i_perm[0], ...] = x[i_0, ...]: out.shape[k] = x.shape[perm[k]].
void transpose(const TensorView &x, const TensorView &out,
               const std::vector<int64_t> &perm, ThreadPool &pool);

/// out[i] = x[start + i * step] per dim; steps may be negative; out.shape
/// gives the count per dim.
void slice(const TensorView &x, const TensorView &out,
           const std::vector<int64_t> &starts,
           const std::vector<int64_t> &steps, ThreadPool &pool);

/// Concatenates inputs along `axis`.
void concat(const std::vector<TensorView> &inputs, const TensorView &out,
            int64_t axis, ThreadPool &pool);

/// Replicates x to out.shape by NumPy broadcasting rules (x's rank <= out's).
void broadcastTo(const TensorView &x, const TensorView &out, ThreadPool &pool);

/// Reduces x over `axes` (sorted, non-negative). out has x's rank with the
/// reduced dims set to 1 (keepdims form; the caller reshapes for free).
void reduce(ReduceKind kind, const TensorView &x, const TensorView &out,
            const std::vector<int64_t> &axes, ThreadPool &pool);

/// Scaled dot-product attention, one head per (batch, head) pair. q, k, v
/// and out share one type: float32, or bf16/fp16 with fp32 sums, scores and
/// softmax (P rounded to the type for P V, out rounded once).
/// q: [B, H, Sq, D], k: [B, H, Sk, D], v: [B, H, Sk, Dv], out: [B, H, Sq, Dv].
/// mask (optional, data == nullptr when absent) broadcasts to [B, H, Sq, Sk]:
/// Bool (true = keep) or a float type (added to the fp32 scores). causal masks
/// j > i + (Sk - Sq). Rows with every score masked give zeros.
void attention(const TensorView &q, const TensorView &k, const TensorView &v,
               const TensorView &mask, const TensorView &out, bool causal,
               float scale, ThreadPool &pool);

/// The gradient of attention for the result's cotangent `grad` (shaped as
/// out): dq, dk, dv shaped and typed as q, k, v. P is computed again as
/// attention computes it, one block of query rows at a time; dK and dV are
/// summed over the blocks in fp32 and rounded once (bf16/fp16: P and dS
/// rounded to the type where they enter a product, as in the forward).
void attentionGrad(const TensorView &q, const TensorView &k,
                   const TensorView &v, const TensorView &grad,
                   const TensorView &mask, const TensorView &dq,
                   const TensorView &dk, const TensorView &dv, bool causal,
                   float scale, ThreadPool &pool);

/// Inverted dropout with a counter-based generator: element i is kept with
/// probability 1 - p from (seed, i) alone, so results do not depend on the
/// thread count. Kept elements are scaled by 1 / (1 - p). p == 0 copies.
/// `offset` is the counter of x's first element: a block of a larger
/// tensor draws that block of the larger tensor's mask.
void dropout(const TensorView &x, const TensorView &out, float p,
             uint64_t seed, ThreadPool &pool, uint64_t offset = 0);

/// The stream seed of dropout op `seed` at training step `step` (step 0 is
/// `seed` itself, so inference graphs are unaffected).
uint64_t dropoutStreamSeed(uint64_t seed, uint64_t step);

/// Element `counter` of the counter-based uniform [0, 1) stream of `seed`
/// (the generator dropout uses; element i is kept when it is >= p); exposed
/// for tests.
float uniformFromCounter(uint64_t seed, uint64_t counter);

/// Mean cross-entropy of logits [..., C] (float32) against labels [...]
/// (int64/int32), `torch.nn.functional.cross_entropy` with ignore_index and
/// label_smoothing; out is a float32 scalar. A label outside [0, C) that is
/// not ignoreIndex throws KernelError naming its position.
/// `count` (nullable, one int64) replaces the number of counted rows as the
/// divisor, for rows split across ranks.
void crossEntropy(const TensorView &logits, const TensorView &labels,
                  const TensorView *count, const TensorView &out,
                  int64_t ignoreIndex, double smoothing, ThreadPool &pool);

/// d(crossEntropy)/d(logits) times the scalar dloss; out is shaped like
/// logits and may be the logits' own buffer.
void crossEntropyGrad(const TensorView &logits, const TensorView &labels,
                      const TensorView &dloss, const TensorView *count,
                      const TensorView &out, int64_t ignoreIndex,
                      double smoothing, ThreadPool &pool);

/// loss = crossEntropy(linear(input, weight), labels) without a bias, and
/// the gradients of that loss for input and weight, for the loss cotangent
/// `cotangent` (one float32; nullptr: 1), computed block of rows by block of
/// rows so the logits never exist whole. weight is [C, K], or [K, C] with
/// weightInOut.
void linearCrossEntropy(const TensorView &input, const TensorView &weight,
                        const TensorView &labels, const TensorView *count,
                        const TensorView *cotangent, const TensorView &loss,
                        const TensorView &inputGrad,
                        const TensorView &weightGrad, int64_t ignoreIndex,
                        double smoothing, bool weightInOut, ThreadPool &pool);

/// out (float32 scalar) = sqrt(sum of squares of every element of every
/// tensor), accumulated in double over fixed chunks.
void globalNorm(const std::vector<TensorView> &tensors, const TensorView &out,
                ThreadPool &pool);

/// GradScaler.unscale_'s kernel: out[i] = grads[i] * invScale (float32
/// scalar) and foundInf (bool scalar) = whether some element of some grad
/// is inf or NaN. out[i] may alias grads[i].
void unscaleGradients(const TensorView &invScale,
                      const std::vector<TensorView> &grads,
                      const TensorView &foundInf,
                      const std::vector<TensorView> &out, ThreadPool &pool);

/// GradScaler.update's kernel (torch._amp_update_scale_) on the float32
/// scale and int64 growth tracker scalars, given the bool foundInf.
struct LossScaleConfig {
  double growthFactor, backoffFactor;
  int64_t growthInterval;
};
void updateLossScale(const TensorView &scale, const TensorView &tracker,
                     const TensorView &foundInf, const TensorView &newScale,
                     const TensorView &newTracker,
                     const LossScaleConfig &config);

enum class LrScheduleKind { Constant, ConstantWithWarmup, Linear, Cosine };

/// The learning rate transformers.get_scheduler's schedule gives at `step`
/// (0-based), times lr.
double scheduledLearningRate(LrScheduleKind kind, double lr, int64_t step,
                             int64_t warmup, int64_t total, double cycles);

/// out (float64 scalar) = scheduledLearningRate(step (int64 scalar), ...).
void lrSchedule(const TensorView &step, const TensorView &out,
                LrScheduleKind kind, double lr, int64_t warmup, int64_t total,
                double cycles);

/// torch.optim.AdamW's update. lr is a float64 scalar, step an int64 scalar
/// (steps taken before this one); gradScale (float32) and skip (bool) are
/// optional (data == nullptr). Results may alias the matching operands.
struct AdamWOperands {
  TensorView param, grad, expAvg, expAvgSq, lr, step, gradScale, skip;
};
struct AdamWResults {
  TensorView param, expAvg, expAvgSq;
};
struct AdamWConfig {
  double beta1, beta2, epsilon, weightDecay;
};
void adamw(const AdamWOperands &in, const AdamWResults &out,
           const AdamWConfig &config, ThreadPool &pool);

/// torch.optim.SGD's update; momentumBuffer present exactly when momentum is
/// non-zero. Same conventions as adamw.
struct SgdOperands {
  TensorView param, grad, momentumBuffer, lr, step, gradScale, skip;
};
struct SgdResults {
  TensorView param, momentumBuffer;
};
struct SgdConfig {
  double momentum, dampening, weightDecay;
  bool nesterov;
};
void sgd(const SgdOperands &in, const SgdResults &out, const SgdConfig &config,
         ThreadPool &pool);

/// Copies bytes (reshape, identity).
void copy(const TensorView &x, const TensorView &out, ThreadPool &pool);

/// Selects the BLAS thread count; called once by the executor. GEMMs are
/// split over the pool and each pool thread runs single-threaded BLAS on its
/// share, so n caps the pool threads one GEMM uses (n <= 0: the whole pool)
/// and BLAS's own threading stays off.
void setBlasThreads(int n);

} // namespace accel::rt::cpu

#endif // ACCEL_RUNTIME_BACKENDS_CPU_CPUKERNELS_H
