// RUN: accel-opt %s | accel-opt | FileCheck %s
// RUN: accel-opt %s -mlir-print-op-generic | accel-opt | FileCheck %s
// Every accel op parses, prints and parses again to the same IR.

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %i: tensor<4xi64>) -> tensor<2x3xf32> {
  // CHECK: accel.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = accel.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.sub
  %1 = accel.sub %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.mul
  %2 = accel.mul %1, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.div
  %3 = accel.div %2, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.pow
  %4 = accel.pow %3, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.max
  %5 = accel.max %4, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.min
  %6 = accel.min %5, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.neg
  %7 = accel.neg %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.abs
  %8 = accel.abs %7 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.exp
  %9 = accel.exp %8 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.log
  %10 = accel.log %9 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.sqrt
  %11 = accel.sqrt %10 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.rsqrt
  %12 = accel.rsqrt %11 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.reciprocal
  %13 = accel.reciprocal %12 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.tanh
  %14 = accel.tanh %13 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.erf
  %15 = accel.erf %14 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.relu
  %16 = accel.relu %15 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.sigmoid
  %17 = accel.sigmoid %16 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.silu
  %18 = accel.silu %17 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.sin
  %19 = accel.sin %18 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.cos
  %20 = accel.cos %19 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.floor
  %21 = accel.floor %20 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.ceil
  %22 = accel.ceil %21 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.gelu %{{.*}} {approximate = #accel<gelu_approximation tanh>}
  %23 = accel.gelu %22 {approximate = #accel<gelu_approximation tanh>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.gelu %{{.*}} :
  %24 = accel.gelu %23 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.dropout %{{.*}} {ratio = 1.000000e-01 : f32, seed = 7 : i64}
  %25 = accel.dropout %24 {ratio = 0.1 : f32, seed = 7 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.compare %{{.*}}, %{{.*}} {direction = #accel<compare_direction lt>} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %26 = accel.compare %25, %b {direction = #accel<compare_direction lt>} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: accel.not
  %27 = accel.not %26 : (tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: accel.where
  %28 = accel.where %27, %25, %b : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: accel.cast %{{.*}} : (tensor<4xi64>) -> tensor<4xf32>
  %29 = accel.cast %i : (tensor<4xi64>) -> tensor<4xf32>
  // CHECK: accel.constant dense<[1, 2]> : tensor<2xi64>
  %30 = accel.constant dense<[1, 2]> : tensor<2xi64>
  return %28 : tensor<2x3xf32>
}

// CHECK-LABEL: func @contractions
func.func @contractions(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %x: tensor<2x8x16xf32>,
                        %w: tensor<32x16xf32>, %bias: tensor<32xf32>, %mask: tensor<2x1x1x8xi1>,
                        %a16: tensor<2x16xbf16>, %b16: tensor<16x4xbf16>, %w16: tensor<4x16xbf16>) -> tensor<2x4x8x16xf32> {
  // CHECK: accel.matmul %{{.*}}, %{{.*}} {transpose_rhs} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  %0 = accel.matmul %q, %k {transpose_rhs} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  // CHECK: accel.matmul %{{.*}}, %{{.*}} : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %1 = accel.matmul %0, %k : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: accel.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %2 = accel.linear %x, %w, %bias : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  // CHECK: accel.linear %{{.*}}, %{{.*}} {weight_in_out} : (tensor<2x8x32xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  %3 = accel.linear %2, %w {weight_in_out} : (tensor<2x8x32xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  // bf16 operands, fp32 sums kept.
  // CHECK: accel.matmul %{{.*}}, %{{.*}} : (tensor<2x16xbf16>, tensor<16x4xbf16>) -> tensor<2x4xf32>
  %wide = accel.matmul %a16, %b16 : (tensor<2x16xbf16>, tensor<16x4xbf16>) -> tensor<2x4xf32>
  // CHECK: accel.linear %{{.*}}, %{{.*}} : (tensor<2x16xbf16>, tensor<4x16xbf16>) -> tensor<2x4xf32>
  %wideLinear = accel.linear %a16, %w16 : (tensor<2x16xbf16>, tensor<4x16xbf16>) -> tensor<2x4xf32>
  // CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} :
  %4 = accel.attention %q, %k, %k {causal} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 5.000000e-01 : f32} :
  %5 = accel.attention %q, %k, %4, %mask {scale = 0.5 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xi1>) -> tensor<2x4x8x16xf32>
  // CHECK: accel.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 5.000000e-01 : f32} :
  %dq, %dk, %dv = accel.attention_grad %q, %k, %4, %5, %mask {scale = 0.5 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x1x1x8xi1>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>)
  return %dv : tensor<2x4x8x16xf32>
}

// CHECK-LABEL: func @normalizations
func.func @normalizations(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<2x8x16xf32> {
  // CHECK: accel.softmax %{{.*}} {axis = 2 : i64}
  %0 = accel.softmax %x {axis = 2 : i64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: accel.log_softmax %{{.*}} {axis = 1 : i64}
  %1 = accel.log_softmax %0 {axis = 1 : i64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: accel.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32
  %2 = accel.layer_norm %1, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  // CHECK: accel.layer_norm %{{.*}} {axis = 1 : i64
  %3 = accel.layer_norm %2 {axis = 1 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: accel.rms_norm %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999997E-7 : f32}
  %4 = accel.rms_norm %3, %g {axis = 2 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return %4 : tensor<2x8x16xf32>
}

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<4x8x2xf32>, %i: tensor<4x8xi64>) -> (tensor<4x1x2xf32>, tensor<2xf32>, tensor<4xf32>, tensor<8xi64>) {
  // CHECK: accel.reduce_sum %{{.*}} {axes = array<i64: 1>, keep_dims} : (tensor<4x8x2xf32>) -> tensor<4x1x2xf32>
  %0 = accel.reduce_sum %x {axes = array<i64: 1>, keep_dims} : (tensor<4x8x2xf32>) -> tensor<4x1x2xf32>
  // CHECK: accel.reduce_mean %{{.*}} {axes = array<i64: 0, 1>} : (tensor<4x8x2xf32>) -> tensor<2xf32>
  %1 = accel.reduce_mean %x {axes = array<i64: 0, 1>} : (tensor<4x8x2xf32>) -> tensor<2xf32>
  // CHECK: accel.reduce_max
  %2 = accel.reduce_max %x {axes = array<i64: 1, 2>} : (tensor<4x8x2xf32>) -> tensor<4xf32>
  // CHECK: accel.reduce_min
  %3 = accel.reduce_min %i {axes = array<i64: 0>} : (tensor<4x8xi64>) -> tensor<8xi64>
  return %0, %1, %2, %3 : tensor<4x1x2xf32>, tensor<2xf32>, tensor<4xf32>, tensor<8xi64>
}

// CHECK-LABEL: func @collectives
func.func @collectives(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>) {
  // CHECK: accel.all_reduce %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = accel.all_reduce %x {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: accel.all_gather %{{.*}} {group = "tp"} : (tensor<4x8xf32>) -> tensor<8x8xf32>
  %1 = accel.all_gather %x {group = "tp"} : (tensor<4x8xf32>) -> tensor<8x8xf32>
  // CHECK: accel.reduce_scatter %{{.*}} {group = "dp", reduction = #accel<reduction max>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  %2 = accel.reduce_scatter %x {group = "dp", reduction = #accel<reduction max>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  // CHECK: %[[G:.*]] = accel.all_gather_start %{{.*}} {axis = 1 : i64, group = "dp"} : (tensor<4x8xf32>) -> tensor<4x16xf32>
  // CHECK: accel.wait %[[G]], %{{.*}} : (tensor<4x16xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  %g = accel.all_gather_start %x {group = "dp", axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x16xf32>
  %3 = accel.wait %g, %x : (tensor<4x16xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  // CHECK: %[[S:.*]] = accel.reduce_scatter_start %{{.*}} {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  // CHECK: accel.wait %[[S]], %{{.*}} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %s = accel.reduce_scatter_start %x {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  %4 = accel.wait %s, %x : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  // CHECK: accel.group_rank {group = "tp"} : () -> tensor<i64>
  %r = accel.group_rank {group = "tp"} : () -> tensor<i64>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>
}

// CHECK-LABEL: func @cumsum
func.func @cumsum(%x: tensor<4x8xf32>, %i: tensor<4x8xi64>) -> (tensor<4x8xf32>, tensor<4x8xi64>) {
  // CHECK: accel.cumsum %{{.*}} {axis = 1 : i64, exclusive, reverse} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = accel.cumsum %x {axis = 1 : i64, exclusive, reverse} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: accel.cumsum %{{.*}} {axis = 0 : i64} : (tensor<4x8xi64>) -> tensor<4x8xi64>
  %1 = accel.cumsum %i {axis = 0 : i64} : (tensor<4x8xi64>) -> tensor<4x8xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xi64>
}

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<2x16x12xf32>, %table: tensor<100x12xf32>, %ids: tensor<2x16xi64>) -> tensor<2x16x12xf32> {
  // CHECK: accel.reshape %{{.*}} : (tensor<2x16x12xf32>) -> tensor<2x16x3x4xf32>
  %0 = accel.reshape %x : (tensor<2x16x12xf32>) -> tensor<2x16x3x4xf32>
  // CHECK: accel.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
  %1 = accel.transpose %0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x3x4xf32>) -> tensor<2x3x16x4xf32>
  // CHECK: accel.slice %{{.*}} {limit = array<i64: 2, 16, 12>, start = array<i64: 0, 0, 1>, stride = array<i64: 1, 2, 3>} : (tensor<2x16x12xf32>) -> tensor<2x8x4xf32>
  %2 = accel.slice %x {start = array<i64: 0, 0, 1>, limit = array<i64: 2, 16, 12>, stride = array<i64: 1, 2, 3>} : (tensor<2x16x12xf32>) -> tensor<2x8x4xf32>
  // CHECK: accel.slice %{{.*}} {limit = array<i64: -1>, start = array<i64: 11>, stride = array<i64: -1>} : (tensor<12xf32>) -> tensor<12xf32>
  %r = accel.reshape %2 : (tensor<2x8x4xf32>) -> tensor<64xf32>
  %s = accel.slice %r {start = array<i64: 0>, limit = array<i64: 12>, stride = array<i64: 1>} : (tensor<64xf32>) -> tensor<12xf32>
  %3 = accel.slice %s {start = array<i64: 11>, limit = array<i64: -1>, stride = array<i64: -1>} : (tensor<12xf32>) -> tensor<12xf32>
  // CHECK: accel.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x16x12xf32>, tensor<2x16x12xf32>) -> tensor<4x16x12xf32>
  %4 = accel.concat %x, %x {axis = 0 : i64} : (tensor<2x16x12xf32>, tensor<2x16x12xf32>) -> tensor<4x16x12xf32>
  // CHECK: accel.split %{{.*}} {axis = 2 : i64} : (tensor<2x16x12xf32>) -> (tensor<2x16x4xf32>, tensor<2x16x8xf32>)
  %5:2 = accel.split %x {axis = 2 : i64} : (tensor<2x16x12xf32>) -> (tensor<2x16x4xf32>, tensor<2x16x8xf32>)
  // CHECK: accel.broadcast %{{.*}} : (tensor<12xf32>) -> tensor<2x16x12xf32>
  %6 = accel.broadcast %3 : (tensor<12xf32>) -> tensor<2x16x12xf32>
  // CHECK: accel.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<100x12xf32>, tensor<2x16xi64>) -> tensor<2x16x12xf32>
  %7 = accel.gather %table, %ids {axis = 0 : i64} : (tensor<100x12xf32>, tensor<2x16xi64>) -> tensor<2x16x12xf32>
  // CHECK: accel.scatter_add %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x16x12xf32>, tensor<2x16xi64>) -> tensor<100x12xf32>
  %8 = accel.scatter_add %7, %ids {axis = 0 : i64} : (tensor<2x16x12xf32>, tensor<2x16xi64>) -> tensor<100x12xf32>
  return %7 : tensor<2x16x12xf32>
}

// Losses and optimizer updates round-trip.
// CHECK-LABEL: func @training
func.func @training(%logits: tensor<4x10xf32>, %labels: tensor<4xi64>, %p: tensor<8xf32>, %g: tensor<8xf32>,
                    %m: tensor<8xf32>, %v: tensor<8xf32>, %step: tensor<i64>, %scale: tensor<f32>, %skip: tensor<i1>,
                    %m8: tensor<4x8xf32>, %w810: tensor<8x10xf32>) {
  // CHECK: accel.cross_entropy %{{.*}}, %{{.*}} {ignore_index = 0 : i64, label_smoothing = 1.000000e-01 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  %0 = accel.cross_entropy %logits, %labels {ignore_index = 0 : i64, label_smoothing = 0.1 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  // CHECK: accel.cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x10xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x10xf32>
  %1 = accel.cross_entropy_grad %logits, %labels, %0 : (tensor<4x10xf32>, tensor<4xi64>, tensor<f32>) -> tensor<4x10xf32>
  // CHECK: accel.linear_cross_entropy %{{.*}}, %{{.*}}, %{{.*}} {weight_in_out} : (tensor<4x8xf32>, tensor<8x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x8xf32>, tensor<8x10xf32>)
  %h:3 = accel.linear_cross_entropy %m8, %w810, %labels {weight_in_out} : (tensor<4x8xf32>, tensor<8x10xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x8xf32>, tensor<8x10xf32>)
  // CHECK: accel.global_norm %{{.*}}, %{{.*}} : (tensor<8xf32>, tensor<4x10xf32>) -> tensor<f32>
  %2 = accel.global_norm %g, %1 : (tensor<8xf32>, tensor<4x10xf32>) -> tensor<f32>
  // CHECK: accel.lr_schedule %{{.*}} {lr = 1.000000e-03 : f64, schedule = #accel<lr_schedule cosine>, total_steps = 100 : i64, warmup_steps = 5 : i64} : (tensor<i64>) -> tensor<f64>
  %lr = accel.lr_schedule %step {schedule = #accel<lr_schedule cosine>, lr = 1.0e-3 : f64, warmup_steps = 5 : i64, total_steps = 100 : i64} : (tensor<i64>) -> tensor<f64>
  // CHECK: accel.adamw {{.*}} -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  %3:3 = accel.adamw %p, %g, %m, %v, %lr, %step, %scale, %skip {beta1 = 0.9 : f64, beta2 = 0.999 : f64, epsilon = 1.0e-8 : f64, weight_decay = 0.01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>, tensor<f32>, tensor<i1>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  // CHECK: accel.unscale_gradients %{{.*}}, %{{.*}}, %{{.*}} : (tensor<f32>, tensor<8xf32>, tensor<4x10xf32>) -> (tensor<i1>, tensor<8xf32>, tensor<4x10xf32>)
  %u:3 = accel.unscale_gradients %scale, %g, %1 : (tensor<f32>, tensor<8xf32>, tensor<4x10xf32>) -> (tensor<i1>, tensor<8xf32>, tensor<4x10xf32>)
  // CHECK: accel.update_loss_scale %{{.*}}, %{{.*}}, %{{.*}} {backoff_factor = 5.000000e-01 : f64, growth_factor = 2.000000e+00 : f64, growth_interval = 2000 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  %s:2 = accel.update_loss_scale %scale, %step, %u#0 {growth_factor = 2.0 : f64, backoff_factor = 0.5 : f64, growth_interval = 2000 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  // CHECK: accel.sgd {{.*}} -> (tensor<8xf32>, tensor<8xf32>)
  %4:2 = accel.sgd %p, %g, %m, %lr, %step {momentum = 0.9 : f64, dampening = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = true, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>) -> (tensor<8xf32>, tensor<8xf32>)
  return
}
