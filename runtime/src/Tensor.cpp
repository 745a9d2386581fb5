//===- Tensor.cpp - Element type and shape helpers ------------------------===//
//
// Sizes and names of element types (the names are the ones the compiler and
// the executable format's tools print and parse) and shape utilities.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Tensor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace accel::rt {

namespace {
struct DTypeInfo {
  DType type;
  size_t size;
  const char *name;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F32, 4, "f32"},   {DType::F64, 8, "f64"}, {DType::F16, 2, "f16"},
    {DType::BF16, 2, "bf16"}, {DType::I64, 8, "i64"}, {DType::I32, 4, "i32"},
    {DType::I16, 2, "i16"},   {DType::I8, 1, "i8"},   {DType::U8, 1, "u8"},
    {DType::Bool, 1, "bool"},
};

const DTypeInfo *lookup(DType t) {
  for (const DTypeInfo &info : kDTypes)
    if (info.type == t)
      return &info;
  return nullptr;
}
} // namespace

size_t dtypeSize(DType t) {
  const DTypeInfo *info = lookup(t);
  // An unknown value can only come from a corrupt executable; a size of 0
  // makes every byte count derived from it visibly wrong instead of UB.
  return info ? info->size : 0;
}

const char *dtypeName(DType t) {
  const DTypeInfo *info = lookup(t);
  return info ? info->name : "invalid";
}

bool parseDType(const std::string &name, DType &out) {
  for (const DTypeInfo &info : kDTypes) {
    if (name == info.name) {
      out = info.type;
      return true;
    }
  }
  return false;
}

int64_t numElements(const Shape &shape) {
  // A zero dim makes the product zero whatever the others are (they may be
  // huge); the readers refuse shapes whose product overflows, so the
  // saturation below is never a size anything allocates.
  for (int64_t d : shape)
    if (d == 0)
      return 0;
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      return std::numeric_limits<int64_t>::max();
  return n;
}

std::string shapeToString(const Shape &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

bool allFinite(const TensorView &t) {
  int64_t n = t.numel();
  // A half-precision value is NaN or infinite when its exponent is all ones.
  auto halfFinite = [&](uint16_t exponentMask) {
    const uint16_t *bits = t.as<uint16_t>();
    for (int64_t i = 0; i < n; ++i)
      if ((bits[i] & exponentMask) == exponentMask)
        return false;
    return true;
  };
  switch (t.dtype) {
  case DType::F32:
    return std::all_of(t.as<float>(), t.as<float>() + n,
                       [](float v) { return std::isfinite(v); });
  case DType::F64:
    return std::all_of(t.as<double>(), t.as<double>() + n,
                       [](double v) { return std::isfinite(v); });
  case DType::F16:
    return halfFinite(0x7c00);
  case DType::BF16:
    return halfFinite(0x7f80);
  default:
    return true;
  }
}

} // namespace accel::rt
