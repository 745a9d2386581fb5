// RUN: accel-opt %s -split-input-file -accel-report-cost -verify-diagnostics
// Each op reports its cost through CostOpInterface; the function the totals.

// Linear: 2*M*N*K + M*N for the bias; exp: 4 per element; bytes of
// operands and results.
// expected-remark@+1 {{total 168 flops, 304 bytes in 2 ops}}
func.func @linear(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-remark@+1 {{136 flops, 240 bytes}}
  %0 = accel.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // expected-remark@+1 {{32 flops, 64 bytes}}
  %1 = accel.exp %0 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Matmul FLOPs take K from the transposed lhs (2*M*N*K = 2*2*4*3); data
// movement costs bytes only.
// expected-remark@+1 {{total 48 flops, 168 bytes in 2 ops}}
func.func @matmul_transpose(%a: tensor<3x2xf32>, %b: tensor<3x4xf32>) -> tensor<4x2xf32> {
  // expected-remark@+1 {{48 flops, 104 bytes}}
  %0 = accel.matmul %a, %b {transpose_lhs} : (tensor<3x2xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // expected-remark@+1 {{0 flops, 64 bytes}}
  %1 = accel.transpose %0 {permutation = array<i64: 1, 0>} : (tensor<2x4xf32>) -> tensor<4x2xf32>
  return %1 : tensor<4x2xf32>
}
