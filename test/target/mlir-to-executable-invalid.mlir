// RUN: not accel-translate --mlir-to-executable %s -o %t.accx 2>&1 | FileCheck %s
// RUN: not test -e %t.accx
// What the executable format cannot hold is reported by value and op, and
// no file is written.

// CHECK: error: 'func.func' op argument 0 is neither an accel.param, an accel.buffer, an accel.state nor an accel.input
func.func @unnamed(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = accel.exp %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
