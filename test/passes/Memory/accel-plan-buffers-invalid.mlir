// RUN: accel-opt %s -split-input-file -allow-unregistered-dialect -accel-plan-buffers -verify-diagnostics
// Memory planning needs static shapes and a single block.

func.func @dynamic(%x: tensor<?xf32> {accel.input = "x"}) -> tensor<?xf32> {
  // expected-error@+1 {{result type 'tensor<?xf32>' needs a static shape for memory planning}}
  %0 = accel.exp %x : (tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// expected-error@+1 {{accel-plan-buffers expects a single-block body}}
func.func @blocks(%x: tensor<4xf32>) -> tensor<4xf32> {
  "test.br"()[^bb1] : () -> ()
^bb1:
  return %x : tensor<4xf32>
}
