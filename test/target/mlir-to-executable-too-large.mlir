// RUN: not accel-translate --mlir-to-executable %s -o %t.accx 2>&1 | FileCheck %s
// RUN: not test -e %t.accx
// A tensor past the runtime's bound (2^48 bytes; an --input-shape typo, say)
// is refused with its type, not written into an executable the loader
// would reject with less to go on.

// CHECK: error: value of type 'tensor<4611686018427387904x4xf32>' holds more than 2^48 bytes, the runtime's bound on one tensor
func.func @main(%x: tensor<4611686018427387904x4xf32> {accel.input = "x"}) -> (tensor<4611686018427387904x4xf32> {accel.output = "y"}) {
  %y = accel.tanh %x : (tensor<4611686018427387904x4xf32>) -> tensor<4611686018427387904x4xf32>
  return %y : tensor<4611686018427387904x4xf32>
}
