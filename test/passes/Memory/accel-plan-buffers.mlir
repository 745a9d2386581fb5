// RUN: accel-opt %s -split-input-file -accel-plan-buffers | FileCheck %s
// Liveness-based arena planning: offsets, reuse, aliases, the arena size.

// A buffer dead after its last use is reused; reshapes share bytes.
// CHECK-LABEL: func @reuse
// CHECK-SAME: attributes {accel.arena_size = 128 : i64}
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 0>}
// CHECK: accel.tanh %{{.*}} {accel.offsets = array<i64: 64>}
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 0>}
// CHECK: accel.reshape %{{.*}} {accel.offsets = array<i64: -1>}
func.func @reuse(%x: tensor<4x4xf32> {accel.input = "x"}) -> tensor<16xf32> {
  %0 = accel.exp %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = accel.tanh %0 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = accel.exp %1 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = accel.reshape %2 : (tensor<4x4xf32>) -> tensor<16xf32>
  return %3 : tensor<16xf32>
}

// -----

// A value read through a reshape stays live until the reshape's last use, so
// %0's bytes are not given to %2.
// CHECK-LABEL: func @alias_extends_life
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 0>}
// CHECK: accel.reshape %{{.*}} {accel.offsets = array<i64: -1>}
// CHECK: accel.tanh %{{.*}} {accel.offsets = array<i64: 64>}
// CHECK: accel.add %{{.*}} {accel.offsets = array<i64: 128>}
func.func @alias_extends_life(%x: tensor<16xf32> {accel.input = "x"}) -> tensor<4x4xf32> {
  %0 = accel.exp %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = accel.reshape %0 : (tensor<16xf32>) -> tensor<4x4xf32>
  %2 = accel.tanh %x : (tensor<16xf32>) -> tensor<16xf32>
  %3 = accel.reshape %2 : (tensor<16xf32>) -> tensor<4x4xf32>
  %4 = accel.add %1, %3 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %4 : tensor<4x4xf32>
}

// -----

// Results of the function live to the end; constants take no arena space;
// freed neighbours merge so a larger tensor fits in their place.
// CHECK-LABEL: func @merge_and_outputs
// CHECK-SAME: attributes {accel.arena_size = 192 : i64}
// CHECK: accel.constant
// CHECK-NOT: accel.offsets
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 0>} : (tensor<16xf32>)
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 64>} : (tensor<16xf32>)
// CHECK: accel.add %{{.*}} {accel.offsets = array<i64: 128>} : (tensor<16xf32>
// CHECK: accel.concat %{{.*}} {accel.offsets = array<i64: 0>, axis = 0 : i64}
func.func @merge_and_outputs(%x: tensor<16xf32> {accel.input = "x"}) -> (tensor<16xf32>, tensor<32xf32>) {
  %c = accel.constant dense<1.0> : tensor<16xf32>
  %0 = accel.exp %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = accel.exp %c : (tensor<16xf32>) -> tensor<16xf32>
  %2 = accel.add %0, %1 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %3 = accel.concat %2, %2 {axis = 0 : i64} : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32>
  return %2, %3 : tensor<16xf32>, tensor<32xf32>
}

// -----

// A training step's updates are written over the parameter and state they
// replace (no arena bytes) when nothing reads those afterwards; an update
// whose argument is read later gets its own buffer.
// CHECK-LABEL: func @in_place_updates
// CHECK-SAME: attributes {accel.arena_size = 128 : i64}
// CHECK: accel.sgd %{{.*}} {accel.offsets = array<i64: -1, -1>
// CHECK: accel.sgd %{{.*}} {accel.offsets = array<i64: 0>
// CHECK: accel.neg %{{.*}} {accel.offsets = array<i64: 64>
func.func @in_place_updates(%p: tensor<8xf32> {accel.param = "p"}, %q: tensor<8xf32> {accel.param = "q"},
                            %b: tensor<8xf32> {accel.state = "p.momentum_buffer"},
                            %g: tensor<8xf32> {accel.input = "g"}, %lr: tensor<f64> {accel.input = "lr"},
                            %s: tensor<i64> {accel.input = "step"})
    -> (tensor<8xf32> {accel.update = "p"}, tensor<8xf32> {accel.update = "p.momentum_buffer"},
        tensor<8xf32> {accel.update = "q"}, tensor<8xf32> {accel.output = "q_again"}) {
  %0:2 = accel.sgd %p, %g, %b, %lr, %s {momentum = 0.9 : f64, dampening = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = false, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>) -> (tensor<8xf32>, tensor<8xf32>)
  %1 = accel.sgd %q, %g, %lr, %s {momentum = 0.0 : f64, dampening = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = false, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0, 0>} : (tensor<8xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>) -> tensor<8xf32>
  %2 = accel.neg %q : (tensor<8xf32>) -> tensor<8xf32>
  return %0#0, %0#1, %1, %2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// A cross-entropy gradient is written over its logits when nothing reads
// them afterwards; the logits' buffer then lives as long as the gradient.
// CHECK-LABEL: func @reuse_dying_operand
// CHECK-SAME: attributes {accel.arena_size = 256 : i64}
// CHECK: accel.exp %{{.*}} {accel.offsets = array<i64: 0>}
// CHECK: accel.cross_entropy %{{.*}} {accel.offsets = array<i64: 128>}
// CHECK: accel.cross_entropy_grad %{{.*}} {accel.offsets = array<i64: -1>}
// CHECK: accel.neg %{{.*}} {accel.offsets = array<i64: 128>}
func.func @reuse_dying_operand(%x: tensor<4x8xf32> {accel.input = "x"}, %y: tensor<4xi64> {accel.input = "y"},
                               %s: tensor<f32> {accel.input = "s"}) -> tensor<4x8xf32> {
  %0 = accel.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = accel.cross_entropy %0, %y : (tensor<4x8xf32>, tensor<4xi64>) -> tensor<f32>
  %2 = accel.cross_entropy_grad %0, %y, %1 : (tensor<4x8xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x8xf32>
  %3 = accel.neg %2 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %3 : tensor<4x8xf32>
}

// -----

// Not when the logits are read again later.
// CHECK-LABEL: func @keep_live_operand
// CHECK: accel.cross_entropy_grad %{{.*}} {accel.offsets = array<i64: {{[0-9]+}}>}
func.func @keep_live_operand(%x: tensor<4x8xf32> {accel.input = "x"}, %y: tensor<4xi64> {accel.input = "y"},
                             %s: tensor<f32> {accel.input = "s"}) -> tensor<4x8xf32> {
  %0 = accel.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = accel.cross_entropy_grad %0, %y, %s : (tensor<4x8xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x8xf32>
  %2 = accel.add %1, %0 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}
