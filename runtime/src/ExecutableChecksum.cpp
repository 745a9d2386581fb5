//===- ExecutableChecksum.cpp - The executable's integrity check ----------===//
#include "accel/runtime/ExecutableChecksum.h"
#include "accel/runtime/schema/executable_generated.h"

#include <zlib.h>

namespace accel::rt {

namespace {

/// CRC-32 of the buffer with the checksum field zeroed; the field keeps its
/// value. nullopt when the buffer has no checksum field.
std::optional<uint32_t> crcWithFieldZeroed(uint8_t *buffer, size_t size,
                                           uint32_t &stored) {
  fb::Executable *root = fb::GetMutableExecutable(buffer);
  stored = root->checksum();
  // Setting a value other than the default succeeds only on a field the
  // buffer holds (setting the default "succeeds" on an absent one too).
  if (!root->mutate_checksum(1))
    return std::nullopt;
  root->mutate_checksum(0);
  uint32_t crc =
      static_cast<uint32_t>(crc32_z(crc32_z(0, nullptr, 0), buffer, size));
  root->mutate_checksum(stored);
  return crc;
}

} // namespace

bool sealExecutable(uint8_t *buffer, size_t size) {
  uint32_t stored = 0;
  std::optional<uint32_t> crc = crcWithFieldZeroed(buffer, size, stored);
  return crc && fb::GetMutableExecutable(buffer)->mutate_checksum(*crc);
}

ExecutableChecksum checksumOf(uint8_t *buffer, size_t size) {
  ExecutableChecksum result;
  uint32_t stored = 0;
  std::optional<uint32_t> crc = crcWithFieldZeroed(buffer, size, stored);
  if (crc) {
    result.stored = stored;
    result.computed = *crc;
  }
  return result;
}

} // namespace accel::rt
