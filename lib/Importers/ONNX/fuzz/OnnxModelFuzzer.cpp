//===- OnnxModelFuzzer.cpp - libFuzzer entry point for the ONNX reader ----===//
//
// Feeds arbitrary bytes to accel::onnx::parseModel. The base directory is
// empty, which makes the reader refuse every external data reference, so the
// fuzzer never touches the file system; any crash, sanitizer report or hang
// is a bug in the decoder.
//
//===----------------------------------------------------------------------===//

#include "lib/Importers/ONNX/OnnxModel.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  accel::onnx::Model model;
  std::string error;
  accel::onnx::parseModel(data, size, /*baseDir=*/"", model, error);
  return 0;
}
