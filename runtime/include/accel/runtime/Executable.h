//===- Executable.h - Loading and checking executables ----------*- C++ -*-===//
//
// An executable is the FlatBuffers file the compiler writes
// (schema/executable.fbs). Loading verifies the buffer, its checksum, its
// format version and every index in it, so that the executor can trust
// what it reads.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_EXECUTABLE_H
#define ACCEL_RUNTIME_EXECUTABLE_H

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel::rt {

namespace fb {
struct Executable;
struct Function;
} // namespace fb

/// The format version this runtime reads and the compiler writes.
inline constexpr uint32_t kFormatVersion = 4;

/// Any problem with an executable, an input, a weight file or a kernel
/// argument that the user can fix. The message says which file or value.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A function's metadata entry `key` as text ("" when absent or not text).
std::string metadataString(const fb::Function &function, const char *key);
/// A function's integer metadata entry `key`, or `fallback`.
int64_t metadataInt(const fb::Function &function, const char *key,
                    int64_t fallback);

class Executable {
public:
  /// Reads and verifies `path`.
  static std::unique_ptr<Executable> loadFile(const std::string &path);
  /// Verifies `bytes` (copied); `origin` names the source in messages.
  static std::unique_ptr<Executable> fromBytes(std::vector<uint8_t> bytes,
                                               const std::string &origin);

  const fb::Executable &root() const { return *root_; }
  const std::string &origin() const { return origin_; }
  /// The function called `name`; throws Error listing the names there are.
  const fb::Function &function(const std::string &name) const;
  /// The first function (the usual single entry point).
  const fb::Function &mainFunction() const;
  /// A 64-bit FNV-1a hash of the executable's bytes followed by `salt` (the
  /// function and options a run uses): the ranks of a job compare theirs
  /// before running.
  uint64_t fingerprint(const std::string &salt = {}) const;

private:
  Executable() = default;
  void verify();

  std::vector<uint8_t> storage;
  const fb::Executable *root_ = nullptr;
  std::string origin_;
};

} // namespace accel::rt

#endif // ACCEL_RUNTIME_EXECUTABLE_H
