// RUN: accel-opt %s -accel-make-train-step="mixed-precision=bf16" -accel-shard="dp=2 zero=3" | FileCheck %s --check-prefix=ZERO
// RUN: accel-opt %s -accel-make-train-step="mixed-precision=bf16" -accel-shard="tp=2" | FileCheck %s --check-prefix=TP
// RUN: accel-opt %s -accel-make-train-step="mixed-precision=bf16" -accel-shard="dp=2 zero=3" | FileCheck %s --check-prefix=WIDE
// RUN: accel-opt %s -accel-make-train-step="mixed-precision=bf16" -accel-shard="tp=2" | FileCheck %s --check-prefix=WIDE
// A bf16 step under the layouts. ZeRO-3 casts each parameter's block to
// bf16 and gathers that (FSDP's param_dtype), once per reader; the weight
// gradients' GEMMs keep their sums in fp32 and the fp32 sums are
// reduce-scattered (DDP reduces fp32 gradients). Under tp=2 the plan reads
// the parameters through their casts (split as in fp32), and the
// row-parallel projection's partial sums are fp32, all-reduced, biased in
// fp32 and rounded once. No sum over ranks is taken in bf16.

// ZERO-LABEL: func.func @train_step
// ZERO-SAME: tensor<4x32xf32> {accel.param = "mlp.down_proj.weight", accel.split = ["dp", ""]}
// ZERO: %[[BLOCK:.*]] = accel.cast %arg2 : (tensor<4x32xf32>) -> tensor<4x32xbf16>
// ZERO: %[[G:.*]] = accel.all_gather_start %[[BLOCK]] {group = "dp"} : (tensor<4x32xbf16>) -> tensor<8x32xbf16>
// ZERO: %[[W:.*]] = accel.wait %[[G]], %[[BLOCK]]
// ZERO: accel.linear %{{.*}}, %[[W]], %{{.*}} : (tensor<2x2x32xbf16>, tensor<8x32xbf16>, tensor<8xbf16>) -> tensor<2x2x8xbf16>
// ZERO: accel.all_gather_start %[[BLOCK]] {group = "dp"}
// ZERO: accel.matmul %{{.*}}, %{{.*}} {transpose_lhs} : (tensor<4x32xbf16>, tensor<4x8xbf16>) -> tensor<32x8xf32>
// ZERO: accel.reduce_scatter_start %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x{{[0-9]+}}xf32>)
// ZERO-LABEL: func.func @eval_step

// TP-LABEL: func.func @train_step
// TP-SAME: tensor<8x16xf32> {accel.param = "mlp.down_proj.weight", accel.split = ["", "tp"]}
// TP: %[[PART:.*]] = accel.linear %{{.*}}, %{{.*}} : (tensor<4x2x16xbf16>, tensor<8x16xbf16>) -> tensor<4x2x8xf32>
// TP: %[[H:.*]] = accel.all_reduce_start %[[PART]] {group = "tp", reduction = #accel<reduction sum>} : (tensor<4x2x8xf32>)
// TP: %[[BIAS:.*]] = accel.cast %{{.*}} : (tensor<8xbf16>) -> tensor<8xf32>
// TP: %[[SUM:.*]] = accel.wait %[[H]]
// TP: %[[BIASED:.*]] = accel.add %[[SUM]], %[[BIAS]] : (tensor<4x2x8xf32>, tensor<8xf32>)
// TP: accel.cast %[[BIASED]] : (tensor<4x2x8xf32>) -> tensor<4x2x8xbf16>
// TP-LABEL: func.func @eval_step

// WIDE-NOT: {{(all_reduce|reduce_scatter)(_start)? .*xbf16>\)}}
func.func @main(%x: tensor<4x2x8xf32> {accel.input = "x"},
                %w1: tensor<32x8xf32> {accel.param = "mlp.up_proj.weight"},
                %b1: tensor<32xf32> {accel.param = "mlp.up_proj.bias"},
                %w2: tensor<8x32xf32> {accel.param = "mlp.down_proj.weight"},
                %b2: tensor<8xf32> {accel.param = "mlp.down_proj.bias"},
                %head: tensor<16x8xf32> {accel.param = "lm_head.weight"})
    -> (tensor<4x2x16xf32> {accel.output = "logits"}) {
  %h = accel.linear %x, %w1, %b1 : (tensor<4x2x8xf32>, tensor<32x8xf32>, tensor<32xf32>) -> tensor<4x2x32xf32>
  %a = accel.tanh %h : (tensor<4x2x32xf32>) -> tensor<4x2x32xf32>
  %o = accel.linear %a, %w2, %b2 : (tensor<4x2x32xf32>, tensor<8x32xf32>, tensor<8xf32>) -> tensor<4x2x8xf32>
  %logits = accel.linear %o, %head : (tensor<4x2x8xf32>, tensor<16x8xf32>) -> tensor<4x2x16xf32>
  return %logits : tensor<4x2x16xf32>
}
