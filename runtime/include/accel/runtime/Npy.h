//===- Npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
//
// Tests and tools exchange single tensors with Python as .npy files (NumPy's
// format: magic, version, a Python-literal header dict, raw data). Only what
// the runtime's dtypes can hold is supported: little-endian f4/f8/f2/i8/i4/
// i2, i1, u1 and b1, in C order, format versions 1.0, 2.0 and 3.0.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_NPY_H
#define ACCEL_RUNTIME_NPY_H

#include "accel/runtime/Safetensors.h" // FormatError
#include "accel/runtime/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace accel::rt {

/// A tensor read from a .npy file, owning its data.
struct NpyArray {
  DType dtype = DType::F32;
  Shape shape;
  /// numel * dtypeSize(dtype) bytes, row-major. The allocator's alignment
  /// (16 bytes on the supported platforms) suits every dtype.
  std::vector<uint8_t> data;

  TensorView view() { return TensorView{data.data(), dtype, shape}; }
};

/// Reads `path`; throws FormatError naming the file for an unreadable or
/// malformed file, an unsupported dtype, big-endian data or Fortran order.
NpyArray readNpy(const std::string &path);

/// Writes `tensor` to `path` atomically (see writeFileAtomically), as format
/// version 1.0 (2.0 if the header needs it). BF16 has no .npy dtype and is
/// rejected with FormatError: the caller casts it first.
void writeNpy(const std::string &path, const TensorView &tensor);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_NPY_H
