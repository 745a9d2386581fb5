// RUN: accel-opt %s -accel-make-train-step -accel-shard="dp=2" | FileCheck %s
// Data parallelism: the training step of a small language model (embedding
// with a broadcast position table, a layer norm, an MLP, a fused head and
// cross-entropy) split over two ranks by upstream's propagation and
// partition. Each rank gets half the batch; the loss divides by the tokens
// counted on both ranks; the gradients summed over the batch are
// all-reduced on the "dp" group in one bucket waited for before the norm,
// except the position table's gradient, which is scattered further and so
// goes on its own; the optimizer runs replicated.
// CHECK: shard.grid @grid(shape = 2) {accel.axes = ["dp"]}
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: tensor<2x4xi64> {accel.input = "input_ids", accel.split = ["dp", ""]}
// CHECK-SAME: tensor<2x4xi64> {accel.input = "labels", accel.split = ["dp", ""]}
// CHECK-SAME: grid_axes = "dp", grid_shape = "2"
// CHECK-NOT: shard.
// CHECK: %[[NE:.*]] = accel.compare
// CHECK: %[[ONES:.*]] = accel.cast %[[NE]]
// CHECK: %[[LOCAL:.*]] = accel.reduce_sum %[[ONES]]
// CHECK: %[[COUNT:.*]] = accel.all_reduce %[[LOCAL]] {group = "dp", reduction = #accel<reduction sum>} : (tensor<i64>) -> tensor<i64>
// CHECK: %[[LOSS:.*]], %{{.*}}, %[[DW:.*]] = accel.linear_cross_entropy %{{.*}}, %{{.*}}, %{{.*}} count %[[COUNT]]
// CHECK: accel.all_reduce %[[LOSS]] {group = "dp", reduction = #accel<reduction sum>} : (tensor<f32>) -> tensor<f32>
// CHECK: %[[POS:.*]] = accel.all_reduce_start %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK: accel.wait %[[POS]]
// CHECK: accel.scatter_add
// CHECK: %[[FLAT:.*]] = accel.reshape %[[DW]] : (tensor<16x8xf32>) -> tensor<128xf32>
// CHECK: %[[BUCKET:.*]] = accel.concat %[[FLAT]], {{.*}} -> tensor<816xf32>
// CHECK: %[[H:.*]] = accel.all_reduce_start %[[BUCKET]] {group = "dp", reduction = #accel<reduction sum>}
// CHECK-NOT: accel.all_reduce
// CHECK: accel.wait %[[H]]
// CHECK: accel.global_norm
// CHECK-LABEL: func.func @eval_step
// CHECK-SAME: tensor<2x4xi64> {accel.input = "input_ids", accel.split = ["dp", ""]}
// CHECK: accel.cross_entropy %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4x16xf32>, tensor<2x4xi64>, tensor<i64>) -> tensor<f32>
// CHECK: accel.all_reduce {{.*}} : (tensor<f32>) -> tensor<f32>
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
