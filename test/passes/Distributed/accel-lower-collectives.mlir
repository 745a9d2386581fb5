// RUN: accel-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(accel-lower-collectives))" -verify-diagnostics | FileCheck %s
// Upstream's collectives become accel's on the group named by their grid
// axes; a slice of a splat constant folds to the splat at the local shape;
// a slice of an all-reduce is a reduce-scatter.

// CHECK-LABEL: func.func @lowered
// CHECK: accel.all_reduce %{{.*}} {group = "tp", reduction = #accel<reduction max>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: accel.all_gather %{{.*}} {group = "dp,tp"} : (tensor<4x8xf32>) -> tensor<16x8xf32>
// CHECK: accel.all_slice %{{.*}} {axis = 1 : i64, group = "dp"} : (tensor<4x8xf32>) -> tensor<4x4xf32>
// CHECK: accel.constant dense<1.000000e+00> : tensor<2x8xf32>
// CHECK-NOT: shard.all
shard.grid @grid(shape = 2x2) {accel.axes = ["dp", "tp"]}
func.func @lowered(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<16x8xf32>, tensor<4x4xf32>, tensor<2x8xf32>) {
  %0 = shard.all_reduce %x on @grid grid_axes = [1] reduction = max : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = shard.all_gather %x on @grid grid_axes = [0, 1] gather_axis = 0 : tensor<4x8xf32> -> tensor<16x8xf32>
  %2 = shard.all_slice %x on @grid grid_axes = [0] slice_axis = 1 : tensor<4x8xf32> -> tensor<4x4xf32>
  %c = accel.constant dense<1.0> : tensor<4x8xf32>
  %3 = shard.all_slice %c on @grid grid_axes = [0] slice_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  return %0, %1, %2, %3 : tensor<4x8xf32>, tensor<16x8xf32>, tensor<4x4xf32>, tensor<2x8xf32>
}

// -----

shard.grid @unnamed(shape = 2)
func.func @unnamed_axes(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{runs on grid @unnamed, which does not name its axes (accel.axes)}}
  %0 = shard.all_reduce %x on @unnamed grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A gather along another dim keeps its axis; so does a sum over ranks
// sliced along dim 1, fused into a reduce-scatter.
// CHECK-LABEL: func.func @along_dim1
// CHECK: accel.all_gather %{{.*}} {axis = 1 : i64, group = "dp"} : (tensor<4x8xf32>) -> tensor<4x16xf32>
// CHECK: accel.reduce_scatter %{{.*}} {axis = 1 : i64, group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<4x4xf32>
shard.grid @grid(shape = 2) {accel.axes = ["dp"]}
func.func @along_dim1(%x: tensor<4x8xf32>) -> (tensor<4x16xf32>, tensor<4x4xf32>) {
  %0 = shard.all_gather %x on @grid grid_axes = [0] gather_axis = 1 : tensor<4x8xf32> -> tensor<4x16xf32>
  %1 = shard.all_reduce %x on @grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  %2 = shard.all_slice %1 on @grid grid_axes = [0] slice_axis = 1 : tensor<4x8xf32> -> tensor<4x4xf32>
  return %0, %2 : tensor<4x16xf32>, tensor<4x4xf32>
}

// -----

// A bf16 sum completed in fp32 and rounded: a reader that widens it again
// reads the fp32 sum, which then meets its slice as a reduce-scatter; a
// bf16 reader keeps the rounded sum.
// CHECK-LABEL: func.func @wide_sum
// CHECK: %[[SUM:.*]] = accel.all_reduce %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: %[[ROUNDED:.*]] = accel.cast %[[SUM]] : (tensor<4x8xf32>) -> tensor<4x8xbf16>
// CHECK: accel.reduce_scatter %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
// CHECK-NOT: accel.all_reduce
// CHECK: return %[[SUM]], %[[ROUNDED]], %{{.*}}
shard.grid @grid(shape = 2) {accel.axes = ["dp"]}
func.func @wide_sum(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xbf16>, tensor<2x8xf32>) {
  %0 = shard.all_reduce %x on @grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = accel.cast %0 : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  %2 = accel.cast %1 : (tensor<4x8xbf16>) -> tensor<4x8xf32>
  %3 = shard.all_reduce %y on @grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  %4 = accel.cast %3 : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  %5 = accel.cast %4 : (tensor<4x8xbf16>) -> tensor<4x8xf32>
  %6 = shard.all_slice %5 on @grid grid_axes = [0] slice_axis = 0 : tensor<4x8xf32> -> tensor<2x8xf32>
  return %2, %1, %6 : tensor<4x8xf32>, tensor<4x8xbf16>, tensor<2x8xf32>
}

// -----

// A bf16 row-parallel projection's sum, biased in fp32 and rounded, then
// split along the sequence: the slice moves before the rounding and the
// bias, and takes the sum with it into a reduce-scatter.
// CHECK-LABEL: func.func @biased_rounded
// CHECK: %[[BLOCK:.*]] = accel.reduce_scatter %{{.*}} {group = "tp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[BIASED:.*]] = accel.add %[[BLOCK]], %{{.*}} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK: accel.cast %[[BIASED]] : (tensor<2x8xf32>) -> tensor<2x8xbf16>
shard.grid @grid(shape = 2) {accel.axes = ["tp"]}
func.func @biased_rounded(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<2x8xbf16> {
  %0 = shard.all_reduce %x on @grid grid_axes = [0] : tensor<4x8xf32> -> tensor<4x8xf32>
  %1 = accel.add %0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = accel.cast %1 : (tensor<4x8xf32>) -> tensor<4x8xbf16>
  %3 = shard.all_slice %2 on @grid grid_axes = [0] slice_axis = 0 : tensor<4x8xbf16> -> tensor<2x8xbf16>
  return %3 : tensor<2x8xbf16>
}
