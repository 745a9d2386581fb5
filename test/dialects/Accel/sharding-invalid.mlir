// RUN: accel-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation{traversal=forward-backward}))" -verify-diagnostics
// What accel's sharding models do not handle yet is an error naming the op,
// never a wrong shape: broadcasting a size-1 dim (upstream's sharding
// option cannot be derived from a constant index in an indexing map).

shard.grid @grid(shape = 2)
func.func @size_one_broadcast(%x: tensor<4x8xf32>, %c: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<4x8xf32>
  // expected-error@+1 {{fail to get sharding option}}
  %0 = accel.mul %xs, %c : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

shard.grid @grid(shape = 2)
// An op without a sharding model is named, not partitioned as replicated.
func.func @no_model(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<4x8xf32>
  // expected-error@+1 {{sharding interface is not implemented}}
  %0 = accel.softmax %xs {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
