// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2 zero=1 bucket-mb=0.0005" | FileCheck %s --check-prefix=ZERO1
// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2 zero=2 bucket-mb=0.0005" | FileCheck %s --check-prefix=ZERO2
// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2 zero=3 bucket-mb=0.0005" | FileCheck %s --check-prefix=ZERO3
// RUN: not accel-opt %s -accel-make-train-step -accel-shard="dp=2 zero=4" 2>&1 | FileCheck %s --check-prefix=BAD
// ZeRO over two data-parallel ranks, on a small MLP's training step.
//
// Stage 1: the optimizer state is stored split (each rank its rows), the
// gradients are reduce-scattered (upstream's all-reduce + slice, fused) in
// buckets started as soon as their gradients exist and all waited for
// before the norm, which sums each rank's squares and all-reduces them;
// each rank updates its rows of each parameter and the updated parameters
// are gathered whole, in buckets, each completed before the next is
// packed.
// ZERO1-LABEL: func.func @train_step
// ZERO1-SAME: tensor<32x8xf32> {accel.param = "fc.weight"}
// ZERO1-SAME: tensor<16x8xf32> {accel.split = ["dp", ""], accel.state = "fc.weight.exp_avg"}
// ZERO1-SAME: tensor<16x8xf32> {accel.split = ["dp", ""], accel.update = "fc.weight.exp_avg"}
// ZERO1-SAME: zero = "1"
// ZERO1-NOT: accel.all_reduce_start
// ZERO1: %[[B0:.*]] = accel.concat {{.*}} {axis = 1 : i64} : ({{.*}}) -> tensor<2x[[N0:[0-9]+]]xf32>
// ZERO1: %[[H0:.*]] = accel.reduce_scatter_start %[[B0]] {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x[[N0]]xf32>) -> tensor<1x[[N0]]xf32>
// ZERO1: %[[H1:.*]] = accel.reduce_scatter_start
// ZERO1: accel.wait %[[H0]], %[[B0]]
// ZERO1: accel.wait %[[H1]]
// ZERO1: %[[LOCAL:.*]] = accel.global_norm
// ZERO1: %[[SQ:.*]] = accel.mul %[[LOCAL]], %[[LOCAL]]
// ZERO1: %[[ALL:.*]] = accel.all_reduce %[[SQ]] {group = "dp", reduction = #accel<reduction sum>} : (tensor<f32>) -> tensor<f32>
// ZERO1: accel.sqrt %[[ALL]]
// ZERO1: %[[ROWS:.*]] = accel.all_slice %{{.*}} {axis = 0 : i64, group = "dp"} : (tensor<32x8xf32>) -> tensor<16x8xf32>
// ZERO1: %[[NEW:.*]], %{{.*}}, %{{.*}} = accel.adamw %[[ROWS]]
// ZERO1: %[[FLAT:.*]] = accel.reshape %[[NEW]] : (tensor<16x8xf32>) -> tensor<128xf32>
// ZERO1: %[[PARAMS:.*]] = accel.concat %[[FLAT]], {{.*}} -> tensor<144xf32>
// ZERO1: %[[G:.*]] = accel.all_gather_start %[[PARAMS]] {group = "dp"} : (tensor<144xf32>) -> tensor<288xf32>
// ZERO1: %[[W:.*]] = accel.wait %[[G]], %[[PARAMS]]
// ZERO1: %[[ROWS2:.*]] = accel.reshape %[[W]] : (tensor<288xf32>) -> tensor<2x144xf32>
// ZERO1: accel.split %[[ROWS2]] {axis = 1 : i64}
// ZERO1: accel.all_gather_start
// ZERO1: return
//
// Stage 2: each bucket is waited for before the next is packed, so at
// most one bucket of whole gradients is held.
// ZERO2-LABEL: func.func @train_step
// ZERO2: %[[B0:.*]] = accel.concat {{.*}} {axis = 1 : i64}
// ZERO2: %[[H0:.*]] = accel.reduce_scatter_start %[[B0]]
// ZERO2-NOT: accel.reduce_scatter_start
// ZERO2: accel.wait %[[H0]], %[[B0]]
// ZERO2: %[[H1:.*]] = accel.reduce_scatter_start
// ZERO2-NOT: accel.reduce_scatter_start
// ZERO2: accel.wait %[[H1]]
// ZERO2: accel.reduce_scatter_start
//
// Stage 3: parameters stored split too, gathered for each op that reads
// them (the forward use and, again, the backward one), each reader's
// gathers started while the reader before it runs (prefetch), returned
// split.
// ZERO3-LABEL: func.func @train_step
// ZERO3-SAME: tensor<16x8xf32> {accel.param = "fc.weight", accel.split = ["dp", ""]}
// ZERO3-SAME: tensor<16x8xf32> {accel.split = ["dp", ""], accel.update = "fc.weight"}
// ZERO3: %[[S0:.*]] = accel.all_gather_start %arg0 {group = "dp"} : (tensor<16x8xf32>) -> tensor<32x8xf32>
// ZERO3: %[[W0:.*]] = accel.wait %[[S0]], %arg0
// ZERO3-NEXT: %[[S1:.*]] = accel.all_gather_start %arg2 {group = "dp"} : (tensor<4x32xf32>) -> tensor<8x32xf32>
// ZERO3-NEXT: accel.linear %{{.*}}, %[[W0]], %{{.*}} :
// ZERO3: %[[W1:.*]] = accel.wait %[[S1]], %arg2
// ZERO3: accel.linear %{{.*}}, %[[W1]] :
// ZERO3: %[[S2:.*]] = accel.all_gather_start %arg2 {group = "dp"} : (tensor<4x32xf32>) -> tensor<8x32xf32>
// ZERO3: %[[W2:.*]] = accel.wait %[[S2]], %arg2
// ZERO3-NEXT: accel.linear %{{.*}}, %[[W2]] {weight_in_out}
// ZERO3: accel.adamw %arg0
// ZERO3-NOT: accel.all_gather %new_param
// ZERO3: return
//
// BAD: accel-shard: zero must be 0, 1, 2 or 3, not 4
func.func @main(%x: tensor<4x2x8xf32> {accel.input = "x"},
                %w1: tensor<32x8xf32> {accel.param = "fc.weight"},
                %b1: tensor<32xf32> {accel.param = "fc.bias"},
                %w2: tensor<8x32xf32> {accel.param = "proj.weight"},
                %head: tensor<16x8xf32> {accel.param = "head.weight"})
    -> (tensor<4x2x16xf32> {accel.output = "logits"}) {
  %h = accel.linear %x, %w1, %b1 : (tensor<4x2x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<4x2x32xf32>
  %a = accel.tanh %h : (tensor<4x2x32xf32>) -> tensor<4x2x32xf32>
  %o = accel.linear %a, %w2 : (tensor<4x2x32xf32>, tensor<8x32xf32>) -> tensor<4x2x8xf32>
  %logits = accel.linear %o, %head : (tensor<4x2x8xf32>, tensor<16x8xf32>) -> tensor<4x2x16xf32>
  return %logits : tensor<4x2x16xf32>
}
