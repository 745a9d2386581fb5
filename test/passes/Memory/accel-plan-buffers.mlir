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
