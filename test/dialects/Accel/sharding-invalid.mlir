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

