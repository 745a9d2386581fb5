// RUN: accel-opt %s --pass-pipeline="builtin.module(func.func(accel-bucket-collectives))" | FileCheck %s
// RUN: accel-opt %s --pass-pipeline="builtin.module(func.func(accel-bucket-collectives{bucket-mb=0.0001}))" | FileCheck %s --check-prefix=SMALL
// RUN: accel-opt %s --pass-pipeline="builtin.module(func.func(accel-bucket-collectives{bucket-mb=0}))" | FileCheck %s --check-prefix=NONE
// Gradient all-reduces as DDP's reducer sends them: in buckets, each started
// once its last gradient exists and waited for before the first use.

// The default 25 MB takes all three gradients in one bucket, started after
// the last and waited for before the norm; the scalar loss stays as it is;
// the two all-reduced parts of a tied weight are added first and reduced
// once.
// CHECK-LABEL: func.func @step
// CHECK: accel.all_reduce %{{.*}} : (tensor<f32>) -> tensor<f32>
// CHECK: %[[G3:.*]] = accel.tanh
// CHECK: %[[T:.*]] = accel.add %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[F1:.*]] = accel.reshape %{{.*}} : (tensor<4x8xf32>) -> tensor<32xf32>
// CHECK: %[[F2:.*]] = accel.reshape %{{.*}} : (tensor<8xf32>) -> tensor<8xf32>
// CHECK: %[[F3:.*]] = accel.reshape %[[G3]] : (tensor<2x2xf32>) -> tensor<4xf32>
// CHECK: %[[F4:.*]] = accel.reshape %[[T]] : (tensor<4xf32>) -> tensor<4xf32>
// CHECK: %[[B:.*]] = accel.concat %[[F1]], %[[F2]], %[[F3]], %[[F4]] {axis = 0 : i64} : (tensor<32xf32>, tensor<8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<48xf32>
// CHECK: %[[H:.*]] = accel.all_reduce_start %[[B]] {group = "dp", reduction = #accel<reduction sum>}
// CHECK: accel.exp
// CHECK: %[[W:.*]] = accel.wait %[[H]]
// CHECK: accel.split %[[W]] {axis = 0 : i64} : (tensor<48xf32>) -> (tensor<32xf32>, tensor<8xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: accel.global_norm
// With 104-byte buckets: the 128-byte gradient alone, the rest together.
// SMALL-LABEL: func.func @step
// SMALL: accel.all_reduce_start %arg0
// SMALL: accel.concat {{.*}} -> tensor<16xf32>
// SMALL: accel.all_reduce_start
// SMALL: accel.exp
// SMALL-COUNT-2: accel.wait
// NONE-LABEL: func.func @step
// NONE-NOT: accel.concat
// NONE-COUNT-4: accel.all_reduce_start
// NONE: accel.exp
func.func @step(%g1: tensor<4x8xf32>, %g2: tensor<8xf32>, %g3: tensor<2x2xf32>, %e1: tensor<4xf32>,
                %e2: tensor<4xf32>, %loss: tensor<f32>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %l = accel.all_reduce %loss {group = "dp", reduction = #accel<reduction sum>} : (tensor<f32>) -> tensor<f32>
  %r1 = accel.all_reduce %g1 {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r2 = accel.all_reduce %g2 {group = "dp", reduction = #accel<reduction sum>} : (tensor<8xf32>) -> tensor<8xf32>
  %t3 = accel.tanh %g3 : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %r3 = accel.all_reduce %t3 {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %a = accel.all_reduce %e1 {group = "dp", reduction = #accel<reduction sum>} : (tensor<4xf32>) -> tensor<4xf32>
  %b = accel.all_reduce %e2 {group = "dp", reduction = #accel<reduction sum>} : (tensor<4xf32>) -> tensor<4xf32>
  %tied = accel.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %x = accel.exp %loss : (tensor<f32>) -> tensor<f32>
  %n = accel.global_norm %r1, %r2, %r3, %tied : (tensor<4x8xf32>, tensor<8xf32>, tensor<2x2xf32>, tensor<4xf32>) -> tensor<f32>
  return %l, %x, %n : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

// A gradient read before the next is computed closes its bucket there.
// CHECK-LABEL: func.func @early_use
// CHECK: %[[H1:.*]] = accel.all_reduce_start %{{.*}} : (tensor<8xf32>) -> tensor<8xf32>
// CHECK: %[[W1:.*]] = accel.wait %[[H1]]
// CHECK: accel.neg %[[W1]]
// CHECK: accel.all_reduce_start
// CHECK: accel.wait
func.func @early_use(%g1: tensor<8xf32>, %g2: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %r1 = accel.all_reduce %g1 {group = "dp", reduction = #accel<reduction sum>} : (tensor<8xf32>) -> tensor<8xf32>
  %n = accel.neg %r1 : (tensor<8xf32>) -> tensor<8xf32>
  %m = accel.mul %g2, %n : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %r2 = accel.all_reduce %m {group = "dp", reduction = #accel<reduction sum>} : (tensor<8xf32>) -> tensor<8xf32>
  return %n, %r2 : tensor<8xf32>, tensor<8xf32>
}

// -----

// Accumulated micro-batches: each reduces its rows of a position table's
// gradient and scatters them into the table. Scattering is linear in the
// rows, so the rows are added first, reduced once and scattered once.
// CHECK-LABEL: func.func @accumulated_rows
// CHECK: %[[ROWS:.*]] = accel.add %arg0, %arg1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[H:.*]] = accel.all_reduce_start %[[ROWS]]
// CHECK: %[[R:.*]] = accel.wait %[[H]]
// CHECK: %[[X:.*]] = accel.reshape %[[R]]
// CHECK: %[[T:.*]] = accel.scatter_add %[[X]], %arg2
// CHECK-NOT: accel.scatter_add
// CHECK: return %[[T]]
func.func @accumulated_rows(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %ids: tensor<1x2xi64>) -> tensor<8x4xf32> {
  %ra = accel.all_reduce %a {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xa = accel.reshape %ra : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %ta = accel.scatter_add %xa, %ids {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %rb = accel.all_reduce %b {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xb = accel.reshape %rb : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %tb = accel.scatter_add %xb, %ids {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %sum = accel.add %ta, %tb : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %sum : tensor<8x4xf32>
}

// -----

// Chains that scatter at different indices, or whose middle is read
// elsewhere, are not the same linear map: each keeps its own reduction.
// CHECK-LABEL: func.func @different_chains
// CHECK-COUNT-2: accel.scatter_add
// CHECK-LABEL: func.func @read_elsewhere
// CHECK-COUNT-2: accel.scatter_add
func.func @different_chains(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %ia: tensor<1x2xi64>, %ib: tensor<1x2xi64>) -> tensor<8x4xf32> {
  %ra = accel.all_reduce %a {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xa = accel.reshape %ra : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %ta = accel.scatter_add %xa, %ia {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %rb = accel.all_reduce %b {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xb = accel.reshape %rb : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %tb = accel.scatter_add %xb, %ib {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %sum = accel.add %ta, %tb : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %sum : tensor<8x4xf32>
}
func.func @read_elsewhere(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %ids: tensor<1x2xi64>) -> (tensor<8x4xf32>, tensor<1x2x4xf32>) {
  %ra = accel.all_reduce %a {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xa = accel.reshape %ra : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %ta = accel.scatter_add %xa, %ids {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %rb = accel.all_reduce %b {group = "dp", reduction = #accel<reduction sum>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %xb = accel.reshape %rb : (tensor<2x4xf32>) -> tensor<1x2x4xf32>
  %tb = accel.scatter_add %xb, %ids {axis = 0 : i64} : (tensor<1x2x4xf32>, tensor<1x2xi64>) -> tensor<8x4xf32>
  %sum = accel.add %ta, %tb : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %sum, %xa : tensor<8x4xf32>, tensor<1x2x4xf32>
}
