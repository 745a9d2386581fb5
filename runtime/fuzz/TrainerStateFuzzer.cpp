//===- TrainerStateFuzzer.cpp - libFuzzer entry for checkpoint loading ----===//
//
// A checkpoint of a one-tensor model whose trainer_state.json is the fuzz
// input: loadCheckpoint either returns its fields or throws Error; the
// model and optimizer files beside it are valid, so what is fuzzed is the
// trainer state and what is read after it.
//
//===----------------------------------------------------------------------===//
#include "accel/runtime/Checkpoint.h"
#include "accel/runtime/Safetensors.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace {

/// The checkpoint directory, made once per process.
const std::string &checkpointDir() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/accel-fuzz-checkpoint-XXXXXX";
    std::string d = ::mkdtemp(pattern);
    float w[2] = {1, 2}, m[2] = {0, 0};
    accel::rt::writeSafetensors(d + "/model.safetensors",
                                {{"w", {w, accel::rt::DType::F32, {2}}}});
    accel::rt::writeSafetensors(
        d + "/optimizer.safetensors",
        {{"w.exp_avg", {m, accel::rt::DType::F32, {2}}}});
    return d;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &dir = checkpointDir();
  std::ofstream(dir + "/trainer_state.json", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char *>(data), std::streamsize(size));
  accel::rt::StateSpec param{"w", false, true, accel::rt::DType::F32, {2}, {}};
  accel::rt::StateSpec state{"w.exp_avg",           true, true,
                             accel::rt::DType::F32, {2},  {}};
  accel::rt::TrainingState training({param, state});
  try {
    std::map<std::string, std::string> fields =
        accel::rt::loadCheckpoint(dir, training);
    for (const auto &[key, value] : fields)
      if (key.empty() && value.empty())
        std::abort(); // unreachable: keeps the fields observed
  } catch (const accel::rt::Error &) {
  }
  return 0;
}
