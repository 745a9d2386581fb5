// RUN: accel-opt %s --pass-pipeline="builtin.module(func.func(accel-gather-before-use))" | FileCheck %s
// RUN: accel-opt %s --pass-pipeline="builtin.module(func.func(accel-gather-before-use{prefetch=false}))" | FileCheck %s --check-prefix=SYNC
// ZeRO-3: the one gather of a split parameter at the top becomes a gather
// for each op that reads it, just before it; with prefetch, each reader's
// gathers start while the reader before it runs and complete just before
// their own reader.

// SYNC-LABEL: func.func @readers
// SYNC-NOT: accel.all_gather_start
// SYNC: accel.tanh
// SYNC-NEXT: %[[G1:.*]] = accel.all_gather %arg0 {group = "dp"}
// SYNC-NEXT: accel.linear %{{.*}}, %[[G1]]
// SYNC: %[[G2:.*]] = accel.all_gather %arg0 {group = "dp"}
// SYNC-NEXT: accel.linear %{{.*}}, %[[G2]] {weight_in_out}

// CHECK-LABEL: func.func @readers
// CHECK: %[[S1:.*]] = accel.all_gather_start %arg0 {group = "dp"} : (tensor<2x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: %[[W1:.*]] = accel.wait %[[S1]], %arg0
// CHECK-NEXT: %[[S2:.*]] = accel.all_gather_start %arg0 {group = "dp"}
// CHECK-NEXT: %[[Y:.*]] = accel.linear %{{.*}}, %[[W1]]
// CHECK: %[[W2:.*]] = accel.wait %[[S2]], %arg0
// CHECK-NEXT: accel.linear %[[Y]], %[[W2]] {weight_in_out}
func.func @readers(%w: tensor<2x4xf32>, %x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %whole = accel.all_gather %w {group = "dp"} : (tensor<2x4xf32>) -> tensor<4x4xf32>
  %t = accel.tanh %x : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = accel.linear %t, %whole : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %z = accel.linear %y, %whole {weight_in_out} : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  return %z : tensor<3x4xf32>
}

// A parameter read in bf16 is cast on its block and gathered in bf16
// (FSDP's param_dtype), once per reader.
// SYNC-LABEL: func.func @narrow
// SYNC: %[[BLOCK:.*]] = accel.cast %arg0 : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// SYNC: accel.all_gather %[[BLOCK]] {group = "dp"} : (tensor<2x4xbf16>) -> tensor<4x4xbf16>
// SYNC-NEXT: accel.linear
// SYNC: accel.all_gather %[[BLOCK]] {group = "dp"} : (tensor<2x4xbf16>) -> tensor<4x4xbf16>
// SYNC-NEXT: accel.linear
// SYNC-NOT: accel.all_gather
func.func @narrow(%w: tensor<2x4xf32>, %x: tensor<3x4xbf16>) -> tensor<3x4xbf16> {
  %whole = accel.all_gather %w {group = "dp"} : (tensor<2x4xf32>) -> tensor<4x4xf32>
  %wb = accel.cast %whole : (tensor<4x4xf32>) -> tensor<4x4xbf16>
  %y = accel.linear %x, %wb : (tensor<3x4xbf16>, tensor<4x4xbf16>) -> tensor<3x4xbf16>
  %z = accel.linear %y, %wb {weight_in_out} : (tensor<3x4xbf16>, tensor<4x4xbf16>) -> tensor<3x4xbf16>
  return %z : tensor<3x4xbf16>
}
