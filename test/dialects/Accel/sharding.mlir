// RUN: accel-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sharding-propagation{traversal=forward-backward},shard-partition,canonicalize,cse))" | FileCheck %s
// accel ops under MLIR's own sharding passes (upstream sharding-propagation
// and shard-partition, through accel's ShardingInterface models).

// Megatron tensor parallelism: the first weight split by rows of its
// output (column parallel), the second by its input (row parallel). Local
// shapes halve, one all-reduce completes the second product, and its bias
// is added once, after the all-reduce.
// CHECK-LABEL: func.func @tensor_parallel_mlp
// CHECK-SAME: %[[X:.*]]: tensor<4x8xf32>, %[[W1:.*]]: tensor<8x8xf32>, %[[B1:.*]]: tensor<8xf32>, %[[W2:.*]]: tensor<8x8xf32>, %[[B2:.*]]: tensor<8xf32>
// CHECK: %[[H:.*]] = accel.linear %[[X]], %[[W1]], %[[B1]] : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: %[[A:.*]] = accel.tanh %[[H]]
// CHECK: %[[P:.*]] = accel.linear %[[A]], %[[W2]] : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
// CHECK: %[[S:.*]] = shard.all_reduce %[[P]] on @grid grid_axes = [0]
// CHECK: %[[Y:.*]] = accel.add %[[S]], %[[B2]]
// CHECK: return %[[Y]]
shard.grid @grid(shape = 2)
func.func @tensor_parallel_mlp(%x: tensor<4x8xf32>, %w1: tensor<16x8xf32>, %b1: tensor<16xf32>,
                               %w2: tensor<8x16xf32>, %b2: tensor<8xf32>) -> tensor<4x8xf32> {
  %col = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %row = shard.sharding @grid split_axes = [[], [0]] : !shard.sharding
  %rep = shard.sharding @grid split_axes = [[]] : !shard.sharding
  %w1s = shard.shard %w1 to %col annotate_for_users : tensor<16x8xf32>
  %b1s = shard.shard %b1 to %col annotate_for_users : tensor<16xf32>
  %w2s = shard.shard %w2 to %row annotate_for_users : tensor<8x16xf32>
  %h = accel.linear %x, %w1s, %b1s : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = accel.tanh %h : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = accel.linear %a, %w2s, %b2 : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %ys = shard.shard %y to %rep : tensor<4x8xf32>
  return %ys : tensor<4x8xf32>
}

// -----

// Data parallelism in the forward pass: the batch is split, weights are
// replicated, broadcasting elementwise ops follow; no communication.
// CHECK-LABEL: func.func @data_parallel_forward
// CHECK-SAME: tensor<2x8xf32>
// CHECK-NOT: shard.all
// CHECK: accel.linear {{.*}} -> tensor<2x16xf32>
// CHECK: accel.relu {{.*}} -> tensor<2x16xf32>
// CHECK: accel.add {{.*}} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
// CHECK-NOT: shard.all
// CHECK: return {{.*}} : tensor<2x16xf32>
shard.grid @grid(shape = 2)
func.func @data_parallel_forward(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>,
                                 %c: tensor<16xf32>) -> tensor<4x16xf32> {
  %batch = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %batch annotate_for_users : tensor<4x8xf32>
  %h = accel.linear %xs, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %a = accel.relu %h : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %r = accel.add %a, %c : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %rs = shard.shard %r to %batch : tensor<4x16xf32>
  return %rs : tensor<4x16xf32>
}

// -----

// Data parallelism in the backward pass: the weight gradient contracts over
// the split batch (one all-reduce after the local product), the bias
// gradient sums over it (one all-reduce), and a mean over it becomes a local
// sum, an all-reduce and one division by the global count (4 x 16).
// CHECK-LABEL: func.func @data_parallel_backward
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>, %[[DY:.*]]: tensor<2x16xf32>
// CHECK-DAG: %[[INV:.*]] = accel.constant dense<1.562500e-02> : tensor<f32>
// CHECK: %[[DW:.*]] = accel.matmul %[[DY]], %[[X]] {transpose_lhs} : (tensor<2x16xf32>, tensor<2x8xf32>) -> tensor<16x8xf32>
// CHECK: %[[DWS:.*]] = shard.all_reduce %[[DW]] on @grid grid_axes = [0]
// CHECK: %[[DB:.*]] = accel.reduce_sum %[[DY]] {axes = array<i64: 0>} : (tensor<2x16xf32>) -> tensor<16xf32>
// CHECK: %[[DBS:.*]] = shard.all_reduce %[[DB]] on @grid grid_axes = [0]
// CHECK: %[[S:.*]] = accel.reduce_sum %[[DY]] {axes = array<i64: 0, 1>}
// CHECK: %[[SS:.*]] = shard.all_reduce %[[S]] on @grid grid_axes = [0]
// CHECK: %[[M:.*]] = accel.mul %[[SS]], %[[INV]]
// CHECK: return %[[DWS]], %[[DBS]], %[[M]]
shard.grid @grid(shape = 2)
func.func @data_parallel_backward(%x: tensor<4x8xf32>, %dy: tensor<4x16xf32>)
    -> (tensor<16x8xf32>, tensor<16xf32>, tensor<f32>) {
  %batch = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  %rep = shard.sharding @grid split_axes = [[]] : !shard.sharding
  %xs = shard.shard %x to %batch annotate_for_users : tensor<4x8xf32>
  %dys = shard.shard %dy to %batch annotate_for_users : tensor<4x16xf32>
  %dw = accel.matmul %dys, %xs {transpose_lhs} : (tensor<4x16xf32>, tensor<4x8xf32>) -> tensor<16x8xf32>
  %db = accel.reduce_sum %dys {axes = array<i64: 0>} : (tensor<4x16xf32>) -> tensor<16xf32>
  %m = accel.reduce_mean %dys {axes = array<i64: 0, 1>} : (tensor<4x16xf32>) -> tensor<f32>
  %dwr = shard.shard %dw to %rep : tensor<16x8xf32>
  %dbr = shard.shard %db to %rep : tensor<16xf32>
  %mr = shard.shard %m to %rep : tensor<f32>
  return %dwr, %dbr, %mr : tensor<16x8xf32>, tensor<16xf32>, tensor<f32>
}
