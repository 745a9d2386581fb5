//===- SafetensorsFuzzer.cpp - libFuzzer entry for the safetensors reader -===//
//
// Any bytes either open as a safetensors file, whose every tensor view then
// lies inside the mapping (read end to end here, so that ASan sees any
// overrun), or are refused with FormatError.
//
//===----------------------------------------------------------------------===//
#include "FuzzFile.h"
#include "accel/runtime/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    accel::rt::SafetensorsFile file(accel::fuzz::asFile(data, size));
    unsigned sum = 0;
    for (const std::string &name : file.names()) {
      accel::rt::TensorView t = file.tensor(name);
      const uint8_t *bytes = static_cast<const uint8_t *>(t.data);
      for (size_t i = 0; i < t.bytes(); ++i)
        sum += bytes[i];
    }
    (void)file.metadata();
    return static_cast<int>(sum & 0);
  } catch (const accel::rt::FormatError &) {
  }
  return 0;
}
