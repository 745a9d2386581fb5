//===- Generate.h - Greedy decoding with a forward function -----*- C++ -*-===//
#ifndef ACCEL_RUNTIME_GENERATE_H
#define ACCEL_RUNTIME_GENERATE_H

#include "accel/runtime/Executor.h"

#include <cstdint>
#include <vector>

namespace accel::rt {

/// Extends `tokens` by `count` greedy (argmax) tokens with a causal language
/// model `forward`: one int64 [1, S] input, logits [1, S, V] as its first
/// output. Static shapes: the last S tokens are fed, right-padded with 0 when
/// fewer (causal attention keeps the padding from reaching earlier
/// positions), and the logits at the last real position are read. Throws
/// Error when the function does not have that form or `tokens` is empty.
std::vector<int64_t> generateGreedy(Executor &forward, std::vector<int64_t> tokens,
                                    int64_t count);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_GENERATE_H
