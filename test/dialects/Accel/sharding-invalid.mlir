// RUN: accel-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation{traversal=forward-backward},shard-partition))" -verify-diagnostics
// What accel's sharding models cannot split is an error naming the op and
// the dim, never a wrong shape. (A split of a dim an op works along is not
// an error: the models leave it whole and upstream gathers the operand
// first, sharding-fixed-dims.mlir.)

shard.grid @grid(shape = 2)
// A batch of 3 does not divide over 2 ranks (upstream would drop a row).
func.func @indivisible(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %s = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<3x8xf32>
  // expected-error@+1 {{operand 0 'tensor<3x8xf32>': dim 0 of size 3 does not divide over grid axes [0] of size 2}}
  %0 = accel.tanh %xs : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}


// -----

shard.grid @grid(shape = 2)
// A vocabulary-parallel table looked up with ids split over the same axis:
// each rank would hold its rows for its ids only.
func.func @same_axis_twice(%table: tensor<8x4xf32>, %ids: tensor<6xi64>) -> tensor<6x4xf32> {
  %rows = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %t = shard.shard %table to %rows annotate_for_users : tensor<8x4xf32>
  %i = shard.shard %ids to %rows annotate_for_users : tensor<6xi64>
  // expected-error@+1 {{splits its loops 0 and 2 over the same grid axis 0}}
  %0 = accel.gather %t, %i {axis = 0 : i64} : (tensor<8x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
  %r = shard.shard %0 to %rows : tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}
