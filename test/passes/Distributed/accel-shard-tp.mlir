// RUN: accel-opt %s -accel-make-train-step -accel-shard="tp=2" | FileCheck %s --check-prefix=TP
// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2 tp=2" | FileCheck %s --check-prefix=GRID
// RUN: accel-opt %s -accel-make-train-step -accel-shard="tp=2 sp=true" | FileCheck %s --check-prefix=SP
// RUN: not accel-opt %s -accel-shard="sp=true" 2>&1 | FileCheck %s --check-prefix=NOTP
// Tensor parallelism over two ranks, Megatron's plan read from the
// parameters' names: the MLP's up projection splits its output features
// (column parallel, its bias too), the down projection its input features
// (row parallel: each rank's partial product, an all-reduce over tp, then
// the bias once), the head its classes. Each rank updates its block of every split tensor; the gradient
// norm adds the tp-split tensors' squares over tp and the whole ones' once.
// TP: shard.grid @grid(shape = 2) {accel.axes = ["tp"]}
// TP-LABEL: func.func @train_step
// TP-SAME: tensor<16x8xf32> {accel.param = "mlp.up_proj.weight", accel.split = ["tp", ""]}
// TP-SAME: tensor<16xf32> {accel.param = "mlp.up_proj.bias", accel.split = ["tp"]}
// TP-SAME: tensor<8x16xf32> {accel.param = "mlp.down_proj.weight", accel.split = ["", "tp"]}
// TP-SAME: tensor<8xf32> {accel.param = "mlp.down_proj.bias"}
// TP-SAME: tensor<8x8xf32> {accel.param = "lm_head.weight", accel.split = ["tp", ""]}
// TP-SAME: tensor<16x8xf32> {accel.split = ["tp", ""], accel.state = "mlp.up_proj.weight.exp_avg"}
// TP-SAME: tensor<4x2x8xf32> {accel.input = "x"}
// TP-SAME: tensor<8x16xf32> {accel.split = ["", "tp"], accel.update = "mlp.down_proj.weight"}
// TP-SAME: grid_axes = "tp", grid_shape = "2"
// TP: %[[UP:.*]] = accel.linear %arg16, %arg0, %arg1 : (tensor<4x2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x2x16xf32>
// TP: %[[ACT:.*]] = accel.tanh %[[UP]]
// TP: %[[PART:.*]] = accel.linear %[[ACT]], %arg2 : (tensor<4x2x16xf32>, tensor<8x16xf32>) -> tensor<4x2x8xf32>
// TP: %[[SUM:.*]] = accel.all_reduce_start %[[PART]] {group = "tp", reduction = #accel<reduction sum>}
// TP: %[[DOWN:.*]] = accel.wait %[[SUM]]
// TP: %[[OUT:.*]] = accel.add %[[DOWN]], %arg3
//
// The head's loss, vocabulary parallel: each rank its block of the
// logits; the row maximum, the sum of exponentials and the target's logit
// completed over tp; the gradients from the local block.
// TP-NOT: accel.linear_cross_entropy
// TP: %[[LOGITS:.*]] = accel.linear %[[OUT]], %arg4 : (tensor<4x2x8xf32>, tensor<8x8xf32>) -> tensor<4x2x8xf32>
// TP: %[[MAX:.*]] = accel.reduce_max %[[LOGITS]] {axes = array<i64: 2>, keep_dims}
// TP: accel.all_reduce_start %[[MAX]] {group = "tp", reduction = #accel<reduction max>}
// TP: accel.all_reduce_start %{{.*}} {group = "tp", reduction = #accel<reduction sum>} : (tensor<4x2x1xf32>)
// TP: %[[RANK:.*]] = accel.group_rank {group = "tp"}
// TP: accel.all_reduce_start %{{.*}} {group = "tp", reduction = #accel<reduction sum>} : (tensor<4x2x1xf32>)
// TP: %[[DLOGITS:.*]] = accel.mul %{{.*}} : (tensor<4x2x8xf32>, tensor<4x2x1xf32>) -> tensor<4x2x8xf32>
// TP: %[[DIN:.*]] = accel.linear %[[DLOGITS]], %arg4 {weight_in_out} : (tensor<4x2x8xf32>, tensor<8x8xf32>) -> tensor<4x2x8xf32>
// TP: accel.all_reduce_start %[[DIN]] {group = "tp", reduction = #accel<reduction sum>}
// TP: %[[HEADGRAD:.*]] = accel.matmul %{{.*}}, %{{.*}} {transpose_lhs} : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
//
// The norm: tp-split gradients' squares summed over tp, whole ones' once.
// TP: %[[WHOLENORM:.*]] = accel.global_norm %{{.*}} : (tensor<8xf32>) -> tensor<f32>
// TP: %[[WHOLESQ:.*]] = accel.mul %[[WHOLENORM]], %[[WHOLENORM]]
// TP: %[[SPLITNORM:.*]] = accel.global_norm %{{.*}}, %{{.*}}, %{{.*}}, %[[HEADGRAD]]
// TP: %[[SPLITSQ:.*]] = accel.mul %[[SPLITNORM]], %[[SPLITNORM]]
// TP: %[[ALLSQ:.*]] = accel.all_reduce %[[SPLITSQ]] {group = "tp", reduction = #accel<reduction sum>}
// TP: %[[TOTAL:.*]] = accel.add %[[WHOLESQ]], %[[ALLSQ]]
// TP: accel.sqrt %[[TOTAL]]
// TP: accel.adamw %arg0, %{{.*}} : (tensor<16x8xf32>
// TP: accel.adamw %arg4, %[[HEADGRAD]]
//
// On a 2 x 2 grid: the batch split over dp, the same parameters over tp;
// the count of labels summed over dp, the gradients all-reduced over dp in
// one bucket, so the norm's tp-split squares are summed over tp alone.
// GRID: shard.grid @grid(shape = 2x2) {accel.axes = ["dp", "tp"]}
// GRID-LABEL: func.func @train_step
// GRID-SAME: tensor<16x8xf32> {accel.param = "mlp.up_proj.weight", accel.split = ["tp", ""]}
// GRID-SAME: tensor<2x2x8xf32> {accel.input = "x", accel.split = ["dp", "", ""]}
// GRID-SAME: grid_axes = "dp,tp", grid_shape = "2,2"
// GRID: accel.all_reduce_start %{{.*}} {group = "tp", reduction = #accel<reduction sum>} : (tensor<2x2x8xf32>)
// GRID: accel.all_reduce %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<i64>)
// GRID: accel.all_reduce_start %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<344xf32>)
// GRID: accel.all_reduce %{{.*}} {group = "tp", reduction = #accel<reduction sum>} : (tensor<f32>)
//
// Sequence parallelism: the row-parallel projection's sum is handed on
// split along the sequence (a reduce-scatter, its bias added to the
// block); the head reads it whole again (an all-gather).
// SP-LABEL: func.func @train_step
// SP: %[[PART:.*]] = accel.linear %{{.*}}, %arg2 : (tensor<4x2x16xf32>, tensor<8x16xf32>) -> tensor<4x2x8xf32>
// SP: %[[RS:.*]] = accel.reduce_scatter_start %[[PART]] {axis = 1 : i64, group = "tp", reduction = #accel<reduction sum>} : (tensor<4x2x8xf32>) -> tensor<4x1x8xf32>
// SP: %[[BLOCK:.*]] = accel.wait %[[RS]], %[[PART]]
// SP: %[[BIASED:.*]] = accel.add %[[BLOCK]], %arg3 : (tensor<4x1x8xf32>, tensor<8xf32>) -> tensor<4x1x8xf32>
// SP: %[[AG:.*]] = accel.all_gather_start %[[BIASED]] {axis = 1 : i64, group = "tp"} : (tensor<4x1x8xf32>) -> tensor<4x2x8xf32>
// SP: %[[WHOLE:.*]] = accel.wait %[[AG]], %[[BIASED]]
// SP: accel.linear %[[WHOLE]], %arg4 : (tensor<4x2x8xf32>, tensor<8x8xf32>) -> tensor<4x2x8xf32>
//
// NOTP: accel-shard: sp=true splits the sequence over the tp axis; it needs tp of at least 2
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
