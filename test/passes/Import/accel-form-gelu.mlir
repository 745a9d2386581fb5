// RUN: accel-opt %s -split-input-file -accel-form-gelu -canonicalize | FileCheck %s
// GELU formulas in any factor order become accel.gelu.

// torch.nn.GELU() as the TorchScript exporter writes it.
// CHECK-LABEL: func @erf_form
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[Y:.*]] = accel.gelu %[[X]] : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: return %[[Y]]
func.func @erf_form(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %sqrt2 = accel.constant dense<1.41421354> : tensor<f32>
  %one = accel.constant dense<1.0> : tensor<f32>
  %half = accel.constant dense<0.5> : tensor<f32>
  %s = accel.div %x, %sqrt2 : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %e = accel.erf %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = accel.add %e, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %p = accel.mul %x, %t : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = accel.mul %p, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// GPT-2's gelu_new as the dynamo exporter writes it: (0.5 x) * (1 + tanh(...)).
// CHECK-LABEL: func @tanh_form
// CHECK-NEXT: %[[Y:.*]] = accel.gelu %{{.*}} {approximate = #accel<gelu_approximation tanh>}
// CHECK-NEXT: return %[[Y]]
func.func @tanh_form(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %half = accel.constant dense<0.5> : tensor<f32>
  %three = accel.constant dense<3.0> : tensor<f32>
  %c = accel.constant dense<0.044715> : tensor<f32>
  %k = accel.constant dense<0.797884583> : tensor<f32>
  %one = accel.constant dense<1.0> : tensor<f32>
  %h = accel.mul %x, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %x3 = accel.pow %x, %three : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %cx3 = accel.mul %x3, %c : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %in = accel.add %x, %cx3 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %u = accel.mul %in, %k : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %th = accel.tanh %u : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = accel.add %th, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %y = accel.mul %h, %t : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Near misses stay as they are: a wrong constant, a different function.
// CHECK-LABEL: func @not_gelu
// CHECK-NOT: accel.gelu
func.func @not_gelu(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %sqrt2 = accel.constant dense<1.41421354> : tensor<f32>
  %one = accel.constant dense<1.0> : tensor<f32>
  %third = accel.constant dense<0.3> : tensor<f32>
  %half = accel.constant dense<0.5> : tensor<f32>
  %s = accel.div %x, %sqrt2 : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %e = accel.erf %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = accel.add %e, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %p = accel.mul %x, %t : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = accel.mul %p, %third : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %th = accel.tanh %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %t2 = accel.add %th, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %p2 = accel.mul %x, %t2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y2 = accel.mul %p2, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %y, %y2 : tensor<4x8xf32>, tensor<4x8xf32>
}
