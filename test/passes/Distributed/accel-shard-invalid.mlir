// RUN: accel-opt %s -split-input-file -accel-shard="dp=2 tp=2" -verify-diagnostics
// A tensor a layout splits must divide over the axis that splits it: the
// error names it, its dim and the axis size.

// expected-error@+1 {{accel-shard: parameter 'mlp.up_proj.weight' of @main 'tensor<3x8xf32>' is column parallel: its dim 0 of size 3 does not divide over the tp axis of size 2}}
func.func @main(%x: tensor<4x8xf32> {accel.input = "x"},
                %w: tensor<3x8xf32> {accel.param = "mlp.up_proj.weight"})
    -> (tensor<4x3xf32> {accel.output = "y"}) {
  %y = accel.linear %x, %w : (tensor<4x8xf32>, tensor<3x8xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// A vocabulary that does not divide stays whole (Megatron would pad it,
// which changes the model); the rest of the plan still splits.
func.func @main(%ids: tensor<4xi64> {accel.input = "ids"},
                %table: tensor<5x8xf32> {accel.param = "model.embed_tokens.weight"})
    -> (tensor<4x8xf32> {accel.output = "y"}) {
  %y = accel.gather %table, %ids {axis = 0 : i64} : (tensor<5x8xf32>, tensor<4xi64>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// expected-error@+1 {{accel-shard: input 'x' of @main 'tensor<3x8xf32>': its batch dim 0 of size 3 does not divide over the dp axis of size 2}}
func.func @main(%x: tensor<3x8xf32> {accel.input = "x"},
                %w: tensor<4x8xf32> {accel.param = "mlp.up_proj.weight"})
    -> (tensor<3x4xf32> {accel.output = "y"}) {
  %y = accel.linear %x, %w : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}
