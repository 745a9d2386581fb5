// RUN: accel-opt %s -accel-lower-to-runtime | FileCheck %s
// The pipeline accel-run and --mlir-to-executable apply: fold, dedupe, plan.

// CHECK-LABEL: func @main
// CHECK-SAME: attributes {accel.arena_size = 64 : i64}
// CHECK-NOT: accel.constant dense<[4]>
// CHECK: %[[E:.*]] = accel.exp %{{.*}} {accel.offsets = array<i64: 0>}
// CHECK-NEXT: %[[R:.*]] = accel.reshape %[[E]] {accel.offsets = array<i64: -1>}
// CHECK-NEXT: return %[[R]], %[[R]]
func.func @main(%x: tensor<2x2xf32> {accel.input = "x"}) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = accel.constant dense<[2]> : tensor<1xi64>
  %b = accel.constant dense<[2]> : tensor<1xi64>
  %n = accel.mul %a, %b : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %0 = accel.exp %x : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = accel.reshape %0 : (tensor<2x2xf32>) -> tensor<4xf32>
  %2 = accel.exp %x : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %3 = accel.reshape %2 : (tensor<2x2xf32>) -> tensor<4xf32>
  return %1, %3 : tensor<4xf32>, tensor<4xf32>
}
