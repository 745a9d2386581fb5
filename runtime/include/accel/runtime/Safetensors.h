//===- Safetensors.h - Reading and writing .safetensors files ---*- C++ -*-===//
//
// The runtime loads weights from safetensors files (the Hugging Face format:
// an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data). Files are
// memory-mapped and validated once, so tensor views point straight into the
// mapping. Also holds the error type and the atomic file write shared by the
// runtime's file-format code (Npy.h uses both).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_SAFETENSORS_H
#define ACCEL_RUNTIME_SAFETENSORS_H

#include "accel/runtime/Tensor.h"

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace accel::rt {

/// A malformed, unreadable or unwritable tensor file. The message names the
/// file and, when one is at fault, the tensor.
class FormatError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Writes `pieces` (pointer, size) in order to `path` + ".tmp.<pid>", fsyncs
/// it and renames it over `path`, so readers see the old file or the whole
/// new one. On failure the temporary file is removed and FormatError thrown.
/// Only a regular file is replaced: an existing device, pipe, socket or
/// directory at `path` is refused (FormatError), never turned into a file.
void writeFileAtomically(
    const std::string &path,
    const std::vector<std::pair<const void *, size_t>> &pieces);

/// Throws FormatError unless `path` is absent or a regular file (what
/// writeFileAtomically checks), so a tool can refuse before writing any
/// of its outputs.
void requireReplaceable(const std::string &path);

/// Throws FormatError when an output (flag, path) is the same file as an
/// input (flag, path) — the same path, or another path to the same file —
/// naming both flags: writing it would destroy what is being read.
void refuseInputsAsOutputs(
    const std::vector<std::pair<std::string, std::string>> &outputs,
    const std::vector<std::pair<std::string, std::string>> &inputs);

/// A safetensors file mapped read-only. Construction validates the whole
/// header: every dtype is one the runtime knows (F32, F64, F16, BF16, I64,
/// I32, I16, I8, U8, BOOL), every byte range lies in the data section, ranges
/// do not overlap and each matches its shape and dtype.
class SafetensorsFile {
public:
  /// Maps and validates `path`; throws FormatError.
  explicit SafetensorsFile(const std::string &path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return filePath; }
  /// Tensor names in the order the header lists them.
  const std::vector<std::string> &names() const { return tensorNames; }
  bool contains(const std::string &name) const {
    return index.count(name) != 0;
  }
  /// The tensor `name`, viewing the mapping: valid while this object lives
  /// and read-only (writing through it faults). The data is aligned to the
  /// element size when the writer aligned it, as this runtime's and the
  /// Hugging Face writers do. Throws FormatError when there is no such tensor.
  TensorView tensor(const std::string &name) const;
  /// Drops the mapped pages that lie wholly inside `view` (a tensor of this
  /// file) from memory: a tensor copied elsewhere (narrowed at load) then
  /// costs no resident memory; reading it again pages it back in.
  void release(const TensorView &view) const;
  /// The "__metadata__" string map (empty when the header has none).
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  struct Entry {
    DType dtype;
    Shape shape;
    size_t offset; // from the start of the mapping
  };

  /// Parses and validates the header of the mapped file.
  void parseHeader();

  std::string filePath;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  std::vector<std::string> tensorNames;
  std::unordered_map<std::string, Entry> index;
  std::map<std::string, std::string> meta;
};

struct NamedTensor {
  std::string name;
  TensorView view;
};

/// Writes `tensors` and `metadata` to `path` as a safetensors file, atomically
/// (see writeFileAtomically). The layout is the Hugging Face library's: the
/// header is space-padded so the data section starts 8-byte aligned and
/// tensors are stored by decreasing dtype size (as that library orders
/// dtypes), then by name, which aligns each one to its element size without
/// gaps (the Hugging Face reader rejects gaps). Throws FormatError for
/// duplicate or reserved names, negative dims and I/O failures.
void writeSafetensors(const std::string &path,
                      const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace accel::rt

#endif // ACCEL_RUNTIME_SAFETENSORS_H
