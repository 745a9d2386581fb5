// RUN: accel-opt %s -split-input-file -accel-shard="tp=2" | FileCheck %s
// RUN: accel-opt %s -split-input-file -accel-shard="tp=4" -verify-diagnostics -o /dev/null
// GPT-2's fused c_attn under tensor parallelism: its output is q|k|v side
// by side, so it splits per part. Each part becomes a projection of its own
// on a slice of the weight and bias (stored whole), each rank keeping its
// block of the part's columns: a block of heads of q, of k and of v.

// CHECK-LABEL: func.func @main
// CHECK-SAME: tensor<8x24xf32> {accel.param = "transformer.h.0.attn.c_attn.weight"}
// CHECK-NOT: accel.split
// CHECK: %[[WQ:.*]] = accel.slice %arg1 {limit = array<i64: 8, 8>, start = array<i64: 0, 0>, stride = array<i64: 1, 1>}
// CHECK: %[[WQBLOCK:.*]] = accel.all_slice %[[WQ]] {axis = 1 : i64, group = "tp"} : (tensor<8x8xf32>) -> tensor<8x4xf32>
// CHECK: %[[Q:.*]] = accel.linear %{{.*}}, %[[WQBLOCK]], %{{.*}} {weight_in_out} : (tensor<8x8xf32>, tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
// CHECK: accel.reshape %[[Q]] : (tensor<8x4xf32>) -> tensor<2x4x4xf32>
// CHECK: accel.slice %arg1 {limit = array<i64: 8, 16>, start = array<i64: 0, 8>
// CHECK: accel.slice %arg1 {limit = array<i64: 8, 24>, start = array<i64: 0, 16>
// CHECK-NOT: accel.split
func.func @main(%x: tensor<2x4x8xf32> {accel.input = "x"},
                %w: tensor<8x24xf32> {accel.param = "transformer.h.0.attn.c_attn.weight"},
                %b: tensor<24xf32> {accel.param = "transformer.h.0.attn.c_attn.bias"})
    -> (tensor<2x4x8xf32> {accel.output = "y"}) {
  %flat = accel.reshape %x : (tensor<2x4x8xf32>) -> tensor<8x8xf32>
  %qkv = accel.linear %flat, %w, %b {weight_in_out} : (tensor<8x8xf32>, tensor<8x24xf32>, tensor<24xf32>) -> tensor<8x24xf32>
  %r = accel.reshape %qkv : (tensor<8x24xf32>) -> tensor<2x4x24xf32>
  %q, %k, %v = accel.split %r {axis = 2 : i64} : (tensor<2x4x24xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
  %qk = accel.mul %q, %k : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %y = accel.add %qk, %v : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// A part's features must divide over tp.
func.func @main(%x: tensor<2x8xf32> {accel.input = "x"},
                %w: tensor<8x18xf32> {accel.param = "transformer.h.0.attn.c_attn.weight"})
    -> (tensor<2x6xf32> {accel.output = "y"}) {
  // expected-error@+1 {{accel-shard: each of the 3 parts of this fused projection has 6 features, which do not divide over the tp axis of size 4}}
  %qkv = accel.linear %x, %w {weight_in_out} : (tensor<2x8xf32>, tensor<8x18xf32>) -> tensor<2x18xf32>
  %q, %k, %v = accel.split %qkv {axis = 1 : i64} : (tensor<2x18xf32>) -> (tensor<2x6xf32>, tensor<2x6xf32>, tensor<2x6xf32>)
  %qk = accel.mul %q, %k : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  %y = accel.add %qk, %v : (tensor<2x6xf32>, tensor<2x6xf32>) -> tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}
