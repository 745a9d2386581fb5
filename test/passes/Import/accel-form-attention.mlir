// RUN: accel-opt %s -split-input-file -accel-form-attention -canonicalize | FileCheck %s
// The exporters' attention subgraphs become one accel.attention.

// GPT-2 as the dynamo exporter writes it: k transposed, scores divided,
// a constant causal select, softmax, matmul by v.
// CHECK-LABEL: func @gpt2_style
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x3x4xf32>, %[[K:.*]]: tensor<1x2x3x4xf32>, %[[V:.*]]: tensor<1x2x3x4xf32>)
// CHECK-NEXT: %[[O:.*]] = accel.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 5.000000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @gpt2_style(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %kt = accel.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x3x4xf32>) -> tensor<1x2x4x3xf32>
  %s = accel.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %c = accel.constant dense<2.0> : tensor<f32>
  %d = accel.div %s, %c : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %m = accel.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %fill = accel.constant dense<-3.40282347E+38> : tensor<f32>
  %w = accel.where %m, %d, %fill : (tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %w {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// SDPA as the TorchScript exporter writes it: sqrt(scale) on q and k^T, a
// float mask added; the mask is an input, so it stays an operand.
// CHECK-LABEL: func @split_scale_additive_mask
// CHECK-SAME: %[[M:[^:]*]]: tensor<1x1x1x3xf32>
// CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[M]] {scale = 2.500000e-01 : f32}
func.func @split_scale_additive_mask(%q: tensor<1x2x3x4xf32>, %kt: tensor<1x2x4x3xf32>, %v: tensor<1x2x3x4xf32>, %mask: tensor<1x1x1x3xf32>) -> tensor<1x2x3x4xf32> {
  %c = accel.constant dense<0.5> : tensor<f32>
  %qs = accel.mul %q, %c : (tensor<1x2x3x4xf32>, tensor<f32>) -> tensor<1x2x3x4xf32>
  %ks = accel.mul %kt, %c : (tensor<1x2x4x3xf32>, tensor<f32>) -> tensor<1x2x4x3xf32>
  %s = accel.matmul %qs, %ks : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %a = accel.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<1x1x1x3xf32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %a {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// A softmax over another axis, or probabilities read elsewhere, is left as is.
// CHECK-LABEL: func @not_attention
// CHECK-NOT: accel.attention
// CHECK: accel.softmax
// CHECK: accel.softmax
func.func @not_attention(%q: tensor<1x2x3x3xf32>, %v: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %s = accel.matmul %q, %q {transpose_rhs} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %s {axis = 2 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %s2 = accel.matmul %q, %v {transpose_rhs} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %p2 = accel.softmax %s2 {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o2 = accel.matmul %p2, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %o, %o2, %p2 : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// A mask added before a scale factor is scaled with the scores.
// CHECK-LABEL: func @mask_before_scale
// CHECK-SAME: %[[M:[^:]*]]: tensor<1x1x1x3xf32>
// CHECK: %[[H:.*]] = accel.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[MS:.*]] = accel.mul %[[M]], %[[H]]
// CHECK: accel.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MS]] {scale = 5.000000e-01 : f32}
func.func @mask_before_scale(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>, %mask: tensor<1x1x1x3xf32>) -> tensor<1x2x3x4xf32> {
  %s = accel.matmul %q, %k {transpose_rhs} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x3xf32>
  %a = accel.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<1x1x1x3xf32>) -> tensor<1x2x3x3xf32>
  %c = accel.constant dense<0.5> : tensor<f32>
  %d = accel.mul %a, %c : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %d {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %p, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// SDPA as the torch exporter decomposes it: k^T spelled reshape / transpose /
// reshape, sqrt(scale) on both sides, a padding mask added, and the safe
// softmax guard Where(IsNaN(p), 0, p) (IsNaN imports as p != p).
// CHECK-LABEL: func @sdpa_nan_guard
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x3x4xf32>, %[[K:.*]]: tensor<1x2x3x4xf32>, %[[V:.*]]: tensor<1x2x3x4xf32>, %[[M:.*]]: tensor<1x1x1x3xf32>)
// CHECK-NEXT: %[[O:.*]] = accel.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[O]]
func.func @sdpa_nan_guard(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>, %mask: tensor<1x1x1x3xf32>) -> tensor<1x2x3x4xf32> {
  %k3 = accel.reshape %k : (tensor<1x2x3x4xf32>) -> tensor<2x3x4xf32>
  %kt3 = accel.transpose %k3 {permutation = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %kt = accel.reshape %kt3 : (tensor<2x4x3xf32>) -> tensor<1x2x4x3xf32>
  %c = accel.constant dense<0.5> : tensor<f32>
  %qs = accel.mul %q, %c : (tensor<1x2x3x4xf32>, tensor<f32>) -> tensor<1x2x3x4xf32>
  %ks = accel.mul %kt, %c : (tensor<1x2x4x3xf32>, tensor<f32>) -> tensor<1x2x4x3xf32>
  %s = accel.matmul %qs, %ks : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %a = accel.add %s, %mask : (tensor<1x2x3x3xf32>, tensor<1x1x1x3xf32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %a {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %nan = accel.compare %p, %p {direction = #accel<compare_direction ne>} : (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xi1>
  %zero = accel.constant dense<0.0> : tensor<f32>
  %g = accel.where %nan, %zero, %p : (tensor<1x2x3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %g, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}

// -----

// A guard that is not the NaN test (p != 0 here) is not sdpa's: unchanged.
// CHECK-LABEL: func @not_a_nan_guard
// CHECK-NOT: accel.attention
func.func @not_a_nan_guard(%q: tensor<1x2x3x4xf32>, %kt: tensor<1x2x4x3xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %s = accel.matmul %q, %kt : (tensor<1x2x3x4xf32>, tensor<1x2x4x3xf32>) -> tensor<1x2x3x3xf32>
  %p = accel.softmax %s {axis = 3 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %zero = accel.constant dense<0.0> : tensor<f32>
  %ne = accel.compare %p, %zero {direction = #accel<compare_direction ne>} : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xi1>
  %g = accel.where %ne, %zero, %p : (tensor<1x2x3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = accel.matmul %g, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  return %o : tensor<1x2x3x4xf32>
}
