// RUN: accel-translate --mlir-to-executable %s -o %t.accx
// RUN: %python -c "import numpy as np; np.save('%t.x.npy', np.arange(6, dtype=np.float32).reshape(2, 3) - 2)"
// RUN: accel-run %t.accx --input x=%t.x.npy --output-dir %t.out --quiet
// RUN: %python -c "import numpy as np; x = np.arange(6, dtype=np.float32).reshape(2, 3) - 2; y = np.load('%t.out/y.npy'); assert np.allclose(y, (np.exp(x) + np.array([1, 2, 3], np.float32)).reshape(6)), y; z = np.load('%t.out/z.npy'); assert z.tolist() == [1, 2, 3], z"
// REQUIRES: python-ml
// A hand-written function compiles (planning on the way) and runs: a
// constant operand, a reshape alias, and a constant returned as an output.

func.func @main(%x: tensor<2x3xf32> {accel.input = "x"}) -> (tensor<6xf32> {accel.output = "y"}, tensor<3xi64> {accel.output = "z"}) {
  %c = accel.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %z = accel.constant dense<[1, 2, 3]> : tensor<3xi64>
  %0 = accel.exp %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = accel.add %0, %c : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = accel.reshape %1 : (tensor<2x3xf32>) -> tensor<6xf32>
  return %2, %z : tensor<6xf32>, tensor<3xi64>
}
