//===- Dropout.cpp - Counter-based inverted dropout -----------------------===//
//
// Element i's keep decision is a pure function of (seed, i): a splitmix64
// finalizer applied to the counter mixed with a hashed seed. Results are thus
// identical for any thread count or chunking, and a future GPU backend can
// reproduce them bit for bit.
//
//===----------------------------------------------------------------------===//
#include "CpuKernels.h"
#include "KernelUtils.h"

#include <cstring>

namespace accel::rt::cpu {

using namespace detail;

namespace {

/// The splitmix64 output function: a bijection on 64-bit words whose output
/// bits each depend on all input bits.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

float uniformFromCounter(uint64_t seed, uint64_t counter) {
  // Hashing the seed first keeps streams of nearby seeds unrelated; the
  // golden-ratio step spreads consecutive counters before the final mix.
  uint64_t z = mix64(mix64(seed) + counter * 0x9e3779b97f4a7c15ull);
  // The top 24 bits give every float in [0, 1) with spacing 2^-24.
  return static_cast<float>(z >> 40) * 0x1.0p-24f;
}

uint64_t dropoutStreamSeed(uint64_t seed, uint64_t step) {
  if (step == 0)
    return seed;
  // splitmix64 of the step, so neighbouring steps give unrelated streams.
  uint64_t z = step * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return seed ^ (z ^ (z >> 31));
}

void dropout(const TensorView &x, const TensorView &out, float p, uint64_t seed,
             ThreadPool &pool, uint64_t offset) {
  const DType type = x.dtype;
  if (type != DType::F32 && !isHalfFloat(type))
    unsupportedType("dropout", type);
  require(out.dtype == type && out.shape == x.shape, "dropout",
          "output must match the input");
  require(p >= 0.0f && p <= 1.0f, "dropout",
          "probability " + std::to_string(p) + " outside [0, 1]");
  if (p == 0.0f)
    return copy(x, out, pool);
  if (p == 1.0f) {
    std::memset(out.data, 0, out.bytes());
    return;
  }
  const float keepScale = 1.0f / (1.0f - p);
  auto kept = [&](int64_t i) {
    return uniformFromCounter(seed, offset + static_cast<uint64_t>(i)) >= p;
  };
  if (type == DType::F32) {
    const float *px = x.as<float>();
    float *po = out.as<float>();
    pool.parallelFor(x.numel(), kGrainMedium, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        po[i] = kept(i) ? px[i] * keepScale : 0.0f;
    });
    return;
  }
  // bf16/fp16: the kept element scaled in fp32 and rounded once.
  const auto *px = static_cast<const uint16_t *>(x.data);
  auto *po = static_cast<uint16_t *>(out.data);
  pool.parallelFor(x.numel(), kGrainMedium, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      po[i] =
          kept(i)
              ? floatToHalfBits(type, halfBitsToFloat(type, px[i]) * keepScale)
              : 0;
  });
}

} // namespace accel::rt::cpu
