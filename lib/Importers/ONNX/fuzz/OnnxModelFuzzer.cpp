//===- OnnxModelFuzzer.cpp - libFuzzer entry point for the ONNX reader ----===//
//
// Feeds arbitrary bytes to accel::onnx::parseModel (protobuf, then the
// conversion to structs) and what it accepts to checkModelValidity. The base
// directory is empty, which makes the reader refuse every external data
// reference, so the fuzzer never touches the file system; any crash,
// sanitizer report or hang is a bug.
//
//===----------------------------------------------------------------------===//

#include "lib/Importers/ONNX/ModelValidity.h"
#include "lib/Importers/ONNX/OnnxModel.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  accel::onnx::Model model;
  std::string error;
  if (accel::onnx::parseModel(data, size, /*baseDir=*/"", model, error))
    accel::onnx::checkModelValidity(model, error);
  return 0;
}
