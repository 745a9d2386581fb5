//===- ExecutableChecksum.h - The executable's integrity check --*- C++ -*-===//
//
// An executable carries a CRC-32 (zlib's) of its bytes, taken with the
// checksum field itself read as zero, as archive and image formats do: a
// file damaged in storage or transfer is refused at load instead of
// running with a shifted offset or a shortened instruction list. (It guards
// against accidents, not against someone who edits a file on purpose.)
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_EXECUTABLECHECKSUM_H
#define ACCEL_RUNTIME_EXECUTABLECHECKSUM_H

#include <cstddef>
#include <cstdint>
#include <optional>

namespace accel::rt {

/// Writes the checksum into a finished executable buffer; false when the
/// buffer has no checksum field (written without its default forced).
bool sealExecutable(uint8_t *buffer, size_t size);

/// The stored checksum of a buffer the FlatBuffers verifier accepted
/// (nullopt when it has none) and the one its bytes give.
struct ExecutableChecksum {
  std::optional<uint32_t> stored;
  uint32_t computed = 0;
};
ExecutableChecksum checksumOf(uint8_t *buffer, size_t size);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_EXECUTABLECHECKSUM_H
