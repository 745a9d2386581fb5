//===- NpyFuzzer.cpp - libFuzzer entry for the .npy reader ----------------===//
//
// Any bytes either read as an array whose data holds exactly numel elements
// of its type, or are refused with FormatError.
//
//===----------------------------------------------------------------------===//
#include "FuzzFile.h"
#include "accel/runtime/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    accel::rt::NpyArray a = accel::rt::readNpy(accel::fuzz::asFile(data, size));
    accel::rt::TensorView v = a.view();
    const uint8_t *bytes = static_cast<const uint8_t *>(v.data);
    unsigned sum = 0;
    for (size_t i = 0; i < v.bytes(); ++i)
      sum += bytes[i];
    return static_cast<int>(sum & 0);
  } catch (const accel::rt::FormatError &) {
  }
  return 0;
}
