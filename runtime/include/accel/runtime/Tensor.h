//===- Tensor.h - Element types and non-owning tensor views -----*- C++ -*-===//
//
// The runtime's view of a tensor: a pointer, an element type and a static
// shape, row-major and contiguous. Storage is owned elsewhere (the arena of an
// invocation, a memory-mapped safetensors file, or a caller's buffer).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_TENSOR_H
#define ACCEL_RUNTIME_TENSOR_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace accel::rt {

/// Element types the executable format can name. The numeric values are part
/// of the executable format (schema/executable.fbs mirrors them).
enum class DType : uint8_t {
  F32 = 0,
  F64 = 1,
  F16 = 2,
  BF16 = 3,
  I64 = 4,
  I32 = 5,
  I16 = 6,
  I8 = 7,
  U8 = 8,
  Bool = 9, // one byte per element, 0 or 1
};

size_t dtypeSize(DType t);
const char *dtypeName(DType t);
/// Parses the names dtypeName returns; false when the name is unknown.
bool parseDType(const std::string &name, DType &out);

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape &shape);
std::string shapeToString(const Shape &shape);

/// A contiguous row-major tensor that does not own its data.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::F32;
  Shape shape;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numel() const { return numElements(shape); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype); }
  template <typename T> T *as() const { return static_cast<T *>(data); }
};

/// Whether every element is finite (true for integer types).
bool allFinite(const TensorView &t);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_TENSOR_H
