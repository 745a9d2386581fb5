// RUN: accel-opt %s -split-input-file --accel-store-weights="dtype=bf16" -verify-diagnostics | FileCheck %s
// RUN: accel-opt %s -split-input-file --accel-store-weights="dtype=fp16" -verify-diagnostics | FileCheck %s --check-prefix=F16
// RUN: accel-opt %s -split-input-file --accel-store-weights | FileCheck %s --check-prefix=NO
// An inference model's parameters stored in bf16 (dtype=no, the default,
// changes nothing): the GEMM reads the
// argument as it is and, read only in fp32, gives its fp32 sums unrounded;
// the layer norm reads its weight widened once; a buffer and the input stay
// fp32; the result is fp32 as before.

// CHECK-LABEL: func.func @main
// CHECK-SAME: %[[X:.*]]: tensor<4x8xf32> {accel.input = "x"}
// CHECK-SAME: %[[W:.*]]: tensor<16x8xbf16> {accel.param = "fc.weight"}
// CHECK-SAME: %[[G:.*]]: tensor<16xbf16> {accel.param = "ln.weight"}
// CHECK-SAME: %[[B:.*]]: tensor<16xf32> {accel.buffer = "ln.shift"}
// CHECK-SAME: -> (tensor<4x16xf32> {accel.output = "y"})
// CHECK: %[[G32:.*]] = accel.cast %[[G]] : (tensor<16xbf16>) -> tensor<16xf32>
// CHECK: %[[XB:.*]] = accel.cast %[[X]] : (tensor<4x8xf32>) -> tensor<4x8xbf16>
// CHECK: %[[H:.*]] = accel.linear %[[XB]], %[[W]] : (tensor<4x8xbf16>, tensor<16x8xbf16>) -> tensor<4x16xf32>
// CHECK-NEXT: accel.layer_norm %[[H]], %[[G32]], %[[B]]
// F16-LABEL: func.func @main
// F16-SAME: tensor<16x8xf16> {accel.param = "fc.weight"}
// F16: accel.linear %{{.*}}, %{{.*}} : (tensor<4x8xf16>, tensor<16x8xf16>) -> tensor<4x16xf32>
// NO-LABEL: func.func @main
// NO-SAME: tensor<16x8xf32> {accel.param = "fc.weight"}
// NO-NOT: bf16
func.func @main(%x: tensor<4x8xf32> {accel.input = "x"},
                %w: tensor<16x8xf32> {accel.param = "fc.weight"},
                %g: tensor<16xf32> {accel.param = "ln.weight"},
                %b: tensor<16xf32> {accel.buffer = "ln.shift"})
    -> (tensor<4x16xf32> {accel.output = "y"}) {
  %h = accel.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %y = accel.layer_norm %h, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// A training step keeps fp32 master weights.
// expected-error@+1 {{'func.func' op accel-store-weights: stores an inference model's weights; a training step keeps fp32 master weights}}
func.func @train_step(%w: tensor<4xf32> {accel.param = "w"}) -> tensor<4xf32> {
  return %w : tensor<4xf32>
}
