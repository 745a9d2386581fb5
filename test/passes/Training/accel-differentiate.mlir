// RUN: accel-opt %s -split-input-file -accel-differentiate | FileCheck %s
// The gradient IR each rule builds, and the gradient function's signature.

// tanh: dx = dy * (1 - y^2); the forward op is cloned into the gradient.
// CHECK-LABEL: func @tanh_grad
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32> {accel.input = "x"}, %[[DY:.*]]: tensor<4xf32> {accel.input = "y.grad"})
// CHECK-SAME: -> (tensor<4xf32> {accel.output = "x.grad"})
// CHECK: %[[Y:.*]] = accel.tanh %[[X]]
// CHECK: %[[ONE:.*]] = accel.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[Y2:.*]] = accel.mul %[[Y]], %[[Y]]
// CHECK: %[[D:.*]] = accel.sub %[[ONE]], %[[Y2]]
// CHECK: %[[DX:.*]] = accel.mul %[[DY]], %[[D]]
// CHECK: return %[[DX]]
func.func @tanh(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32> {accel.output = "y"}) {
  %0 = accel.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A broadcast operand's cotangent is summed back to its shape; a value used
// twice gets the sum of both cotangents.
// CHECK-LABEL: func @bcast_grad
// CHECK-SAME: %[[DY:[^:]*]]: tensor<2x3xf32> {accel.input = "out.grad"}
// CHECK: %[[DB:.*]] = accel.reduce_sum %{{.*}} {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
// CHECK: %[[SUM:.*]] = accel.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: return %[[SUM]], %[[DB]]
func.func @bcast(%a: tensor<2x3xf32> {accel.input = "a"}, %b: tensor<3xf32> {accel.param = "b"}) -> (tensor<2x3xf32> {accel.output = "out"}) {
  %0 = accel.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = accel.mul %0, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// linear: dx is a linear op with the weight read the other way, dW one
// matmul over all rows, db a sum; an integer argument gets no cotangent and
// an unused float one gets zeros.
// CHECK-LABEL: func @linear_grad
// CHECK-SAME: -> (tensor<2x8x4xf32> {accel.output = "x.grad"}, tensor<3x4xf32> {accel.output = "w.grad"}, tensor<3xf32> {accel.output = "b.grad"}, tensor<5xf32> {accel.output = "unused.grad"})
// CHECK: accel.linear %[[G:.*]], %{{.*}} {weight_in_out} : (tensor<2x8x3xf32>, tensor<3x4xf32>) -> tensor<2x8x4xf32>
// CHECK: %[[G2:.*]] = accel.reshape %[[G]] : (tensor<2x8x3xf32>) -> tensor<16x3xf32>
// CHECK: %[[X2:.*]] = accel.reshape %{{.*}} : (tensor<2x8x4xf32>) -> tensor<16x4xf32>
// CHECK: accel.matmul %[[G2]], %[[X2]] {transpose_lhs} : (tensor<16x3xf32>, tensor<16x4xf32>) -> tensor<3x4xf32>
// CHECK: accel.reduce_sum %[[G2]] {axes = array<i64: 0>}
// CHECK: accel.constant dense<0.000000e+00> : tensor<5xf32>
func.func @linear(%x: tensor<2x8x4xf32> {accel.input = "x"}, %ids: tensor<2xi64> {accel.input = "ids"},
                  %w: tensor<3x4xf32> {accel.param = "w"}, %b: tensor<3xf32> {accel.param = "b"},
                  %unused: tensor<5xf32> {accel.param = "unused"}) -> (tensor<2x8x3xf32> {accel.output = "y"}) {
  %0 = accel.linear %x, %w, %b : (tensor<2x8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x8x3xf32>
  return %0 : tensor<2x8x3xf32>
}
