//===- GradientMemory.h - Gradient bytes a compiled step holds --*- C++ -*-===//
//
// The memory of a training step's gradients, read from its plan: which
// arena buffers hold gradients and when each is live. What ZeRO-2 saves
// (whole gradients released bucket by bucket) shows here and nowhere
// else, since gradients are arena temporaries, not state.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_GRADIENT_MEMORY_H
#define ACCEL_RUNTIME_GRADIENT_MEMORY_H

#include <cstdint>

namespace accel::rt {
namespace fb {
struct Function;
} // namespace fb

/// The most bytes of gradients live at once while `step` runs: the
/// gradient operands of its optimizer updates (adamw, sgd) and every
/// buffer they were reduced, bucketed or reshaped from back to the ops
/// that computed them, each arena range counted once while live.
int64_t peakGradientBytes(const fb::Function &step);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_GRADIENT_MEMORY_H
