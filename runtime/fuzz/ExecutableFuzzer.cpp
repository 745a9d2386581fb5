//===- ExecutableFuzzer.cpp - libFuzzer entry for the executable loader ---===//
//
// Any byte string must either load (and then bind: kernels resolved,
// attributes decoded, indices checked) or be rejected with an accel::rt
// error; never crash, hang or read out of bounds.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Executable.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/schema/executable_generated.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    auto exe = accel::rt::Executable::fromBytes(
        std::vector<uint8_t>(data, data + size), "fuzz input");
    accel::rt::ThreadPool pool(1);
    for (const auto *function : *exe->root().functions()) {
      // Big arenas are legitimate (and allocated lazily); the fuzzer's
      // memory limit is not the place to learn that.
      if (function->arena_size() > (int64_t(1) << 26))
        continue;
      // Functions with parameters need weights; binding still checks the
      // rest before it looks for them.
      accel::rt::Executor executor(*exe, *function, nullptr, pool);
      (void)executor;
    }
  } catch (const std::exception &) {
  }
  return 0;
}
