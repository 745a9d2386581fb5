//===- Memory.h - Device memory for arenas and training state ---*- C++ -*-===//
//
// Where the runtime's large blocks come from: an executor's arena of
// temporaries, a trainer's shared arena and the training state. Each comes
// from the allocator of the device the kernels run on (host memory for the
// CPU backend; the CUDA backend's allocator will hand out device memory),
// and is returned to it by the owning buffer.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_MEMORY_H
#define ACCEL_RUNTIME_MEMORY_H

#include "accel/runtime/KernelRegistry.h"

#include <cstddef>
#include <memory>
#include <string>

namespace accel::rt {

class Allocator {
public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;
  /// At least `bytes` (rounded up to `alignment`, at least one block);
  /// null when the device has no such block.
  virtual void *allocate(size_t bytes, size_t alignment) = 0;
  virtual void deallocate(void *block) = 0;
};

/// Host memory (aligned_alloc / free).
Allocator &hostAllocator();

/// A block owned until the buffer goes, returned to its allocator.
struct BufferRelease {
  Allocator *allocator = nullptr;
  void operator()(char *block) const {
    if (block)
      allocator->deallocate(block);
  }
};
using DeviceBuffer = std::unique_ptr<char, BufferRelease>;

/// `bytes` from `allocator`, 64-byte aligned; throws Error naming `what`
/// when it cannot be had.
DeviceBuffer allocateBuffer(Allocator &allocator, size_t bytes,
                            const std::string &what);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_MEMORY_H
