// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2" -accel-report-layout -o /dev/null 2>&1 | FileCheck %s
// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2" -accel-report-layout="format=json output=%t.json" -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: not accel-opt %s -accel-report-layout="function=nothing" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MISSING
// The layout report of a data-parallel step: per-rank memory, the step's
// collectives with the bytes each rank sends (a ring all-reduce over two
// ranks sends the tensor once), and each tensor's split.
// CHECK: @train_step on grid dp=2 (2 ranks)
// CHECK: memory per rank: parameters {{.*}} MiB, gradients {{.*}} (in the arena), optimizer state {{.*}}, arena
// CHECK: collectives per step
// CHECK: all_reduce {{ *}}dp {{ *}}scalar
// CHECK: all_reduce_start {{ *}}dp
// CHECK: tensors:
// CHECK: wte {{ *}}param {{ *}}16x8 {{ *}}16x8 {{ *}}whole
// CHECK: input_ids {{ *}}input {{ *}}4x4 {{ *}}2x4 {{ *}}dp,-
// JSON: "collectives": [
// JSON: "group": "dp"
// JSON: "function": "train_step"
// JSON: "grid": "dp=2"
// JSON: "memory_per_rank": {
// JSON-DAG: "gradients": 3392
// JSON-DAG: "optimizer_state": 6784
// JSON-DAG: "parameters": 3392
// JSON: "ranks": 2
// JSON: "sent_per_rank_per_step":
// MISSING: accel-report-layout: no function @nothing
func.func @main(%ids: tensor<4x4xi64> {accel.input = "input_ids"},
                %wte: tensor<16x8xf32> {accel.param = "wte"},
                %wpe: tensor<4x8xf32> {accel.param = "wpe"},
                %g: tensor<8xf32> {accel.param = "ln.weight"},
                %b: tensor<8xf32> {accel.param = "ln.bias"},
                %w1: tensor<32x8xf32> {accel.param = "fc.weight"},
                %b1: tensor<32xf32> {accel.param = "fc.bias"},
                %w2: tensor<8x32xf32> {accel.param = "proj.weight"},
                %head: tensor<16x8xf32> {accel.param = "lm_head.weight"})
    -> (tensor<4x4x16xf32> {accel.output = "logits"}) {
  %pos = accel.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>
  %tok = accel.gather %wte, %ids {axis = 0 : i64} : (tensor<16x8xf32>, tensor<4x4xi64>) -> tensor<4x4x8xf32>
  %p = accel.gather %wpe, %pos {axis = 0 : i64} : (tensor<4x8xf32>, tensor<1x4xi64>) -> tensor<1x4x8xf32>
  %x = accel.add %tok, %p : (tensor<4x4x8xf32>, tensor<1x4x8xf32>) -> tensor<4x4x8xf32>
  %n = accel.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<4x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x4x8xf32>
  %h = accel.linear %n, %w1, %b1 : (tensor<4x4x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<4x4x32xf32>
  %a = accel.tanh %h : (tensor<4x4x32xf32>) -> tensor<4x4x32xf32>
  %o = accel.linear %a, %w2 : (tensor<4x4x32xf32>, tensor<8x32xf32>) -> tensor<4x4x8xf32>
  %r = accel.add %x, %o : (tensor<4x4x8xf32>, tensor<4x4x8xf32>) -> tensor<4x4x8xf32>
  %logits = accel.linear %r, %head : (tensor<4x4x8xf32>, tensor<16x8xf32>) -> tensor<4x4x16xf32>
  return %logits : tensor<4x4x16xf32>
}
