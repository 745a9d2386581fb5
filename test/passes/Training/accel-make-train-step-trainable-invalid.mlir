// RUN: accel-opt %s -split-input-file -accel-make-train-step="freeze=^decoder" -verify-diagnostics
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="trainable=scale" 2>&1 | FileCheck %s --check-prefix=BUFFER
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="trainable=(" 2>&1 | FileCheck %s --check-prefix=REGEX
// RUN: not accel-opt %s -split-input-file -accel-make-train-step="freeze=.*" 2>&1 | FileCheck %s --check-prefix=ALL
// A selection that selects nothing, or everything away, is an error naming
// the option; so are imports that cannot be trained as they are.

// A typo must not silently freeze nothing.
// expected-error@+1 {{freeze='^decoder' matches no parameter; the 2 parameters are 'encoder.weight', 'head.weight'}}
func.func @typo(%w: tensor<4x4xf32> {accel.param = "encoder.weight"},
                %h: tensor<3x4xf32> {accel.param = "head.weight"},
                %s: tensor<3xf32> {accel.buffer = "scale"},
                %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32> {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = accel.linear %0, %h : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %2 = accel.mul %1, %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}
// BUFFER: error: 'func.func' op accel-build-loss: trainable='scale' matches no parameter (only buffers, which never train)
// REGEX: error: 'func.func' op accel-build-loss: trainable='(' is not a regex
// ALL: error: 'func.func' op has no parameter to train (all 2 are frozen by trainable/freeze)

// -----

// The importer's verdict on an export whose optimizer merged parameters.
// expected-error@+1 {{cannot be trained: m.onnx was exported with the ONNX optimizer on}}
func.func @optimized(%w: tensor<3x4xf32> {accel.param = "w"},
                     %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32>
    attributes {accel.untrainable = "m.onnx was exported with the ONNX optimizer on"} {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Without the exporter's record of parameters, trainable= must name them.
// expected-error@+1 {{name the parameters with trainable=<regex>}}
func.func @unrecorded(%w: tensor<3x4xf32> {accel.param = "w"},
                      %x: tensor<2x4xf32> {accel.input = "x"}) -> tensor<2x3xf32>
    attributes {accel.unrecorded_parameters} {
  %0 = accel.linear %x, %w : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Only buffers: nothing to train (this aborted in accel.global_norm once).
// expected-error@+1 {{has no parameter to train (no floating-point accel.param argument)}}
func.func @buffers_only(%s: tensor<2x3xf32> {accel.buffer = "s"},
                        %x: tensor<2x3xf32> {accel.input = "x"}) -> tensor<2x3xf32> {
  %0 = accel.mul %x, %s : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
