//===- InitializerRoles.h - Which initializers are parameters ---*- C++ -*-===//
//
// Decides, from what the exporter recorded and never from a tensor's values,
// which ONNX initializers are trainable parameters, which are buffers (model
// state that is saved but never trained) and which are constants the IR may
// fold. The rule is documented in docs/user-guide.md ("Which tensors
// train").
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_LIB_IMPORTERS_ONNX_INITIALIZERROLES_H
#define ACCEL_LIB_IMPORTERS_ONNX_INITIALIZERROLES_H

#include "lib/Importers/ONNX/OnnxModel.h"

#include <map>
#include <string>

namespace accel::onnx {

enum class InitializerRole {
  /// A function argument {accel.param}: trained unless frozen.
  Parameter,
  /// A function argument {accel.buffer}: weight-backed, saved with the
  /// parameters, never trained (a persistent float buffer).
  Buffer,
  /// An accel.constant in the IR (non-persistent buffers, exporter-made
  /// tensors, integer and bool tensors): folded, not saved.
  Constant,
};

struct InitializerRoles {
  std::map<std::string, InitializerRole> roles;
  /// The exporter recorded which initializers are parameters (the torch
  /// exporter's graph signature). Without a record the training step needs
  /// the user to name them (trainable=).
  bool recorded = false;
  /// Set when training this export would be wrong, saying why and what to
  /// change (the exporter's optimizer folded or merged parameters).
  std::string untrainable;
};

/// Classifies every initializer of `model` (loaded from `path`, named in
/// messages).
InitializerRoles classifyInitializers(const Model &model,
                                      const std::string &path);

} // namespace accel::onnx

#endif // ACCEL_LIB_IMPORTERS_ONNX_INITIALIZERROLES_H
