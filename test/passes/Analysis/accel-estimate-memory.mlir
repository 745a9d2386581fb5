// RUN: accel-opt %s --accel-estimate-memory="svg=%t.svg" -o /dev/null 2>&1 | FileCheck %s
// RUN: FileCheck %s --check-prefix=SVG < %t.svg
// RUN: not accel-opt %s --accel-estimate-memory="function=eval_step" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MISSING
// Each tensor below takes one 64-byte arena block. %a lives through op 1,
// %e (read after the loss) through op 3, the loss and %g to the end: at op
// 3 the arena holds %e (kept for the backward pass), the loss and %g
// (temporaries).
// CHECK: memory estimate of @train_step
// CHECK-NEXT: parameters {{ *}}64 bytes
// CHECK-NEXT: optimizer state {{ *}}64 bytes
// CHECK-NEXT: arena at its peak {{ *}}192 bytes
// CHECK-NEXT: activations kept for the backward pass {{ *}}64 bytes
// CHECK-NEXT: gradients {{ *}}0 bytes
// CHECK-NEXT: temporaries {{ *}}128 bytes
// CHECK-NEXT: total (what the runtime allocates) {{ *}}320 bytes
// CHECK-NEXT: batch inputs (the data loader's) {{ *}}64 bytes
// CHECK-NEXT: kernel workspace, at most (outside the arena) {{ *}}0 bytes
// CHECK-NEXT: peak at op 3 of 5 (accel.mul); the loss at op 2
// SVG: <svg xmlns="http://www.w3.org/2000/svg"
// SVG: Memory of @train_step over its ops (peak 0.0 MiB)
// SVG: >loss</text>
// SVG: </svg>
// MISSING: error: accel-estimate-memory: the module has no function @eval_step
func.func @train_step(%w: tensor<16xf32> {accel.param = "w"}, %m: tensor<16xf32> {accel.state = "w.m"},
                      %x: tensor<16xf32> {accel.input = "x"})
    -> (tensor<f32> {accel.output = "loss"}, tensor<16xf32> {accel.output = "g"}) {
  %a = accel.mul %x, %w : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %e = accel.exp %a : (tensor<16xf32>) -> tensor<16xf32>
  %l = accel.reduce_sum %e {axes = array<i64: 0>} : (tensor<16xf32>) -> tensor<f32>
  %g = accel.mul %e, %x : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %l, %g : tensor<f32>, tensor<16xf32>
}
