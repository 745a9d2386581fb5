// RUN: accel-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation{traversal=forward-backward},shard-partition))" | FileCheck %s
// A dim an op works along (a softmax axis, a reshape's merged inner dim)
// is never split: the models leave it whole in the sharding they choose,
// so upstream gathers an operand split along it first, as for any other
// resharding. Tensor parallelism meets this where an exported graph merges
// the head dim into another (GQA's repeated keys, say).

shard.grid @grid(shape = 2)
// CHECK-LABEL: func.func @softmax_axis
// CHECK-SAME: (%[[X:.*]]: tensor<4x4xf32>)
// CHECK: %[[WHOLE:.*]] = shard.all_gather %[[X]] on @grid grid_axes = [0] gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: accel.softmax %{{.*}} {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
func.func @softmax_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @grid split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<4x8xf32>
  %0 = accel.softmax %xs {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

shard.grid @grid(shape = 2)
// CHECK-LABEL: func.func @reshape_inner
// CHECK: shard.all_gather %{{.*}} gather_axis = 1 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK: accel.reshape %{{.*}} : (tensor<4x8xf32>) -> tensor<32xf32>
func.func @reshape_inner(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %s = shard.sharding @grid split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<4x8xf32>
  %0 = accel.reshape %xs : (tensor<4x8xf32>) -> tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

shard.grid @grid(shape = 2)
// The outer dim of a merged run splits as it is: no gather.
// CHECK-LABEL: func.func @reshape_outer
// CHECK-NOT: shard.all_gather
// CHECK: accel.reshape %{{.*}} : (tensor<2x8xf32>) -> tensor<16xf32>
func.func @reshape_outer(%x: tensor<4x8xf32>) -> tensor<32xf32> {
  %s = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<4x8xf32>
  %0 = accel.reshape %xs : (tensor<4x8xf32>) -> tensor<32xf32>
  return %0 : tensor<32xf32>
}
