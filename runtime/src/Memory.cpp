//===- Memory.cpp - Host memory, the CPU backend's allocator --------------===//
#include "accel/runtime/Memory.h"

#include <algorithm>
#include <cstdlib>

namespace accel::rt {
namespace {

class HostAllocator : public Allocator {
public:
  Device device() const override { return {DeviceKind::Cpu, 0}; }
  void *allocate(size_t bytes, size_t alignment) override {
    size_t rounded = std::max(alignment, (bytes + alignment - 1) / alignment * alignment);
    return std::aligned_alloc(alignment, rounded);
  }
  void deallocate(void *block) override { std::free(block); }
};

} // namespace

Allocator &hostAllocator() {
  static HostAllocator host;
  return host;
}

DeviceBuffer allocateBuffer(Allocator &allocator, size_t bytes,
                            const std::string &what) {
  DeviceBuffer buffer(static_cast<char *>(allocator.allocate(bytes, 64)),
                      BufferRelease{&allocator});
  if (!buffer)
    throw Error("cannot allocate " + std::to_string(bytes) + " bytes for " +
                what);
  return buffer;
}

} // namespace accel::rt
