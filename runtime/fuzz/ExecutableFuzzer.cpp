//===- ExecutableFuzzer.cpp - libFuzzer entry for the executable loader ---===//
//
// Any byte string must either load (and then bind: kernels resolved,
// attributes decoded, indices checked) or be rejected with an accel::rt
// error; never crash, hang or read out of bounds. The input is sealed
// (its checksum set) when it has a checksum field, so that the fuzzer gets
// past the checksum to every check behind it.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Executable.h"
#include "accel/runtime/ExecutableChecksum.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/schema/executable_generated.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    std::vector<uint8_t> bytes(data, data + size);
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    if (bytes.size() >= 8 && accel::rt::fb::VerifyExecutableBuffer(verifier))
      accel::rt::sealExecutable(bytes.data(), bytes.size());
    auto exe = accel::rt::Executable::fromBytes(std::move(bytes), "fuzz input");
    accel::rt::ThreadPool pool(1);
    for (const auto *function : *exe->root().functions()) {
      // Big arenas are legitimate (and allocated lazily); the fuzzer's
      // memory limit is not the place to learn that.
      if (function->arena_size() > (int64_t(1) << 26))
        continue;
      // Functions with parameters need weights; binding still checks the
      // rest before it looks for them.
      try {
        accel::rt::Executor executor(*exe, *function, nullptr, pool);
      } catch (const std::exception &) {
      }
      // The training path: parameters and optimizer state bound to zeroed
      // buffers of the sizes they declare (small ones only).
      std::vector<std::vector<uint64_t>> buffers;
      accel::rt::Executor trainer(
          *exe, *function,
          [&](const accel::rt::StateSpec &spec) -> accel::rt::TensorView {
            size_t bytes =
                static_cast<size_t>(accel::rt::numElements(spec.shape)) *
                accel::rt::dtypeSize(spec.dtype);
            if (bytes > (size_t(1) << 24))
              throw accel::rt::Error("too large for the fuzzer");
            buffers.emplace_back((bytes + 7) / 8 + 1);
            return {buffers.back().data(), spec.dtype, spec.shape};
          },
          pool);
      (void)trainer;
    }
  } catch (const std::exception &) {
  }
  return 0;
}
