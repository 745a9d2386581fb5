//===- FuzzFile.h - A fuzz input as a file, without the file system -*- C++
//-*-===//
//
// Readers that take a path (they map the file) get the input through an
// anonymous memory file: /proc/self/fd/N of a memfd, rewritten per input.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_FUZZ_FUZZFILE_H
#define ACCEL_RUNTIME_FUZZ_FUZZFILE_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace accel::fuzz {

/// The path of a memory file holding exactly `data`.
inline std::string asFile(const uint8_t *data, size_t size) {
  static int fd = ::memfd_create("accel-fuzz-input", 0);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != ssize_t(size))
    __builtin_trap(); // the harness itself failed, not the code under test
  return "/proc/self/fd/" + std::to_string(fd);
}

} // namespace accel::fuzz

#endif // ACCEL_RUNTIME_FUZZ_FUZZFILE_H
