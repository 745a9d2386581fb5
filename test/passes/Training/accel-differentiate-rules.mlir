// RUN: accel-opt %s -accel-differentiate | FileCheck %s
// The gradient IR of each op's rule (DifferentiableOpInterface), one
// function per op: the op sequence each rule builds after the cloned forward
// op. Numerics are checked against PyTorch in test/e2e/gradients.py and
// test/e2e/loss_gradients.py; tanh, broadcasting and linear have detailed
// checks in accel-differentiate.mlir.

// sub: da = g, db = -g summed over the broadcast dim
// CHECK-LABEL: func.func @sub_grad
// CHECK: accel.neg
// CHECK: accel.reduce_sum
// CHECK: return
func.func @sub(%a: tensor<2x3xf32> {accel.input = "a"}, %b: tensor<3xf32> {accel.input = "b"}) -> tensor<2x3xf32> {
  %0 = accel.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// mul: da = g * b, db = g * a
// CHECK-LABEL: func.func @mul_grad
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: return
func.func @mul(%a: tensor<2x3xf32> {accel.input = "a"}, %b: tensor<2x3xf32> {accel.input = "b"}) -> tensor<2x3xf32> {
  %0 = accel.mul %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// div: da = g / b, db = -(g / b) * (a / b)
// CHECK-LABEL: func.func @div_grad
// CHECK: accel.div
// CHECK: accel.mul
// CHECK: accel.neg
// CHECK: return
func.func @div(%a: tensor<2x3xf32> {accel.input = "a"}, %b: tensor<2x3xf32> {accel.input = "b"}) -> tensor<2x3xf32> {
  %0 = accel.div %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// pow: da = g * b * a^(b-1), db = g * a^b * log(a)
// CHECK-LABEL: func.func @pow_grad
// CHECK: accel.constant dense<1.000000e+00>
// CHECK: accel.sub
// CHECK: accel.pow
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.log
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: return
func.func @pow(%a: tensor<4xf32> {accel.input = "a"}, %b: tensor<4xf32> {accel.input = "b"}) -> tensor<4xf32> {
  %0 = accel.pow %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// max: nothing where an operand is smaller, g/2 on ties, else g (torch.maximum)
// CHECK-LABEL: func.func @max_grad
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.compare {{.*}}compare_direction lt
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.where
// CHECK: accel.where
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.compare {{.*}}compare_direction lt
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.where
// CHECK: accel.where
// CHECK: return
func.func @max(%a: tensor<4xf32> {accel.input = "a"}, %b: tensor<4xf32> {accel.input = "b"}) -> tensor<4xf32> {
  %0 = accel.max %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// min: nothing where an operand is larger, g/2 on ties, else g (torch.minimum)
// CHECK-LABEL: func.func @min_grad
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.compare {{.*}}compare_direction gt
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.where
// CHECK: accel.where
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.compare {{.*}}compare_direction gt
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.where
// CHECK: accel.where
// CHECK: return
func.func @min(%a: tensor<4xf32> {accel.input = "a"}, %b: tensor<4xf32> {accel.input = "b"}) -> tensor<4xf32> {
  %0 = accel.min %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// neg: dx = -g
// CHECK-LABEL: func.func @neg_grad
// CHECK: accel.neg
// CHECK: return
func.func @neg(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// exp: dx = g * exp(x)
// CHECK-LABEL: func.func @exp_grad
// CHECK: accel.mul
// CHECK: return
func.func @exp(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.exp %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// log: dx = g / x
// CHECK-LABEL: func.func @log_grad
// CHECK: accel.div
// CHECK: return
func.func @log(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.log %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// sqrt: dx = g * 0.5 / sqrt(x)
// CHECK-LABEL: func.func @sqrt_grad
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.div
// CHECK: return
func.func @sqrt(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.sqrt %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// rsqrt: dx = g * rsqrt(x)^3 * -0.5
// CHECK-LABEL: func.func @rsqrt_grad
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.constant dense<-5.000000e-01>
// CHECK: accel.mul
// CHECK: return
func.func @rsqrt(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.rsqrt %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// reciprocal: dx = -(g * (1/x)^2)
// CHECK-LABEL: func.func @reciprocal_grad
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.neg
// CHECK: return
func.func @reciprocal(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.reciprocal %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// relu: dx = x > 0 ? g : 0
// CHECK-LABEL: func.func @relu_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.compare {{.*}}compare_direction gt
// CHECK: accel.where
// CHECK: return
func.func @relu(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// sigmoid: dx = g * s * (1 - s)
// CHECK-LABEL: func.func @sigmoid_grad
// CHECK: accel.constant dense<1.000000e+00>
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: return
func.func @sigmoid(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.sigmoid %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// silu: dx = g * s * (1 + x * (1 - s))
// CHECK-LABEL: func.func @silu_grad
// CHECK: accel.sigmoid
// CHECK: accel.constant dense<1.000000e+00>
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.add
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: return
func.func @silu(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.silu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// abs: dx = g * sign(x), sign(0) = 0
// CHECK-LABEL: func.func @abs_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.compare {{.*}}compare_direction gt
// CHECK: accel.compare {{.*}}compare_direction lt
// CHECK: accel.neg
// CHECK: accel.where
// CHECK: accel.where
// CHECK: return
func.func @abs(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.abs %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// sin: dx = g * cos(x)
// CHECK-LABEL: func.func @sin_grad
// CHECK: accel.cos
// CHECK: accel.mul
// CHECK: return
func.func @sin(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.sin %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// cos: dx = -(g * sin(x))
// CHECK-LABEL: func.func @cos_grad
// CHECK: accel.sin
// CHECK: accel.mul
// CHECK: accel.neg
// CHECK: return
func.func @cos(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.cos %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// erf: dx = g * 2/sqrt(pi) * exp(-x^2)
// CHECK-LABEL: func.func @erf_grad
// CHECK: accel.mul
// CHECK: accel.neg
// CHECK: accel.exp
// CHECK: accel.constant dense<1.12837923>
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: return
func.func @erf(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.erf %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// floor: dx = 0
// CHECK-LABEL: func.func @floor_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: return
func.func @floor(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.floor %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// ceil: dx = 0
// CHECK-LABEL: func.func @ceil_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: return
func.func @ceil(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.ceil %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// gelu: dx = g * (Phi(x) + x * phi(x))
// CHECK-LABEL: func.func @gelu_grad
// CHECK: accel.mul
// CHECK: accel.constant dense<1.000000e+00>
// CHECK: accel.constant dense<5.000000e-01>
// CHECK: accel.constant dense<0.707106769>
// CHECK: accel.mul
// CHECK: accel.erf
// CHECK: accel.add
// CHECK: accel.mul
// CHECK: accel.constant dense<-5.000000e-01>
// CHECK: accel.mul
// CHECK: accel.exp
// CHECK: accel.constant dense<0.398942292>
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.add
// CHECK: accel.mul
// CHECK: return
func.func @gelu(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.gelu %x {approximate = #accel<gelu_approximation none>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// matmul: da = g b^T, db = a^T g summed over the broadcast batch
// CHECK-LABEL: func.func @matmul_grad
// CHECK: accel.matmul
// CHECK: accel.matmul
// CHECK: accel.reduce_sum
// CHECK: return
func.func @matmul(%a: tensor<2x3x4xf32> {accel.input = "a"}, %b: tensor<4x5xf32> {accel.input = "b"}) -> tensor<2x3x5xf32> {
  %0 = accel.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// softmax: dx = y * (g - sum(g * y))
// CHECK-LABEL: func.func @softmax_grad
// CHECK: accel.mul
// CHECK: accel.reduce_sum
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: return
func.func @softmax(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2x5xf32> {
  %0 = accel.softmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// log_softmax: dx = g - softmax(x) * sum(g)
// CHECK-LABEL: func.func @log_softmax_grad
// CHECK: accel.reduce_sum
// CHECK: accel.exp
// CHECK: accel.mul
// CHECK: accel.sub
// CHECK: return
func.func @log_softmax(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2x5xf32> {
  %0 = accel.log_softmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// reduce_sum: dx = g broadcast back over the reduced axes
// CHECK-LABEL: func.func @reduce_sum_grad
// CHECK: accel.reshape
// CHECK: accel.broadcast
// CHECK: return
func.func @reduce_sum(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2xf32> {
  %0 = accel.reduce_sum %x {axes = array<i64: 1>} : (tensor<2x5xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// reduce_mean: dx = g broadcast back, divided by the count
// CHECK-LABEL: func.func @reduce_mean_grad
// CHECK: accel.broadcast
// CHECK: accel.constant dense<2.000000e-01>
// CHECK: accel.mul
// CHECK: return
func.func @reduce_mean(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2x1xf32> {
  %0 = accel.reduce_mean %x {axes = array<i64: 1>, keep_dims} : (tensor<2x5xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// reduce_max: dx = g spread evenly over the elements equal to the max (torch.amax)
// CHECK-LABEL: func.func @reduce_max_grad
// CHECK: accel.reshape
// CHECK: accel.broadcast
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.cast
// CHECK: accel.reduce_sum
// CHECK: accel.reshape
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.div
// CHECK: accel.mul
// CHECK: return
func.func @reduce_max(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2xf32> {
  %0 = accel.reduce_max %x {axes = array<i64: 1>} : (tensor<2x5xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// reduce_min: dx = g spread evenly over the elements equal to the min (torch.amin)
// CHECK-LABEL: func.func @reduce_min_grad
// CHECK: accel.reshape
// CHECK: accel.broadcast
// CHECK: accel.compare {{.*}}compare_direction eq
// CHECK: accel.cast
// CHECK: accel.reduce_sum
// CHECK: accel.reshape
// CHECK: accel.broadcast
// CHECK: accel.broadcast
// CHECK: accel.div
// CHECK: accel.mul
// CHECK: return
func.func @reduce_min(%x: tensor<2x5xf32> {accel.input = "x"}) -> tensor<2xf32> {
  %0 = accel.reduce_min %x {axes = array<i64: 1>} : (tensor<2x5xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// reshape: dx = g reshaped back
// CHECK-LABEL: func.func @reshape_grad
// CHECK: accel.reshape
// CHECK: return
func.func @reshape(%x: tensor<2x6xf32> {accel.input = "x"}) -> tensor<3x4xf32> {
  %0 = accel.reshape %x : (tensor<2x6xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// transpose: dx = g transposed by the inverse permutation
// CHECK-LABEL: func.func @transpose_grad
// CHECK: accel.transpose
// CHECK: return
func.func @transpose(%x: tensor<2x3x4xf32> {accel.input = "x"}) -> tensor<4x2x3xf32> {
  %0 = accel.transpose %x {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// broadcast: dx = g summed over the broadcast dims
// CHECK-LABEL: func.func @broadcast_grad
// CHECK: accel.reduce_sum
// CHECK: accel.reshape
// CHECK: return
func.func @broadcast(%x: tensor<3x1xf32> {accel.input = "x"}) -> tensor<2x3x4xf32> {
  %0 = accel.broadcast %x : (tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// where: da = c ? g : 0, db = c ? 0 : g; no cotangent for the condition
// CHECK-LABEL: func.func @where_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.where
// CHECK: accel.where
// CHECK: return
func.func @where(%c: tensor<4xi1> {accel.input = "c"}, %a: tensor<4xf32> {accel.input = "a"}, %b: tensor<4xf32> {accel.input = "b"}) -> tensor<4xf32> {
  %0 = accel.where %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// cast: dx = g cast back to the operand's type
// CHECK-LABEL: func.func @cast_grad
// CHECK: accel.cast
// CHECK: return
func.func @cast(%x: tensor<4xf16> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.cast %x : (tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// dropout: dx = dropout(g) with the same seed
// CHECK-LABEL: func.func @dropout_grad
// CHECK: accel.dropout
// CHECK: return
func.func @dropout(%x: tensor<4xf32> {accel.input = "x"}) -> tensor<4xf32> {
  %0 = accel.dropout %x {ratio = 0.1 : f32, seed = 7 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// slice: stride 2 on dim 0: interleave zeros and pad; stride -2 on dim 1: reverse first
// CHECK-LABEL: func.func @slice_grad
// CHECK: accel.reshape
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.concat
// CHECK: accel.reshape
// CHECK: accel.slice
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.concat
// CHECK: accel.slice
// CHECK: accel.reshape
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.concat
// CHECK: accel.reshape
// CHECK: accel.slice
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.concat
// CHECK: return
func.func @slice(%x: tensor<8x6xf32> {accel.input = "x"}) -> tensor<3x3xf32> {
  %0 = accel.slice %x {start = array<i64: 1, 5>, limit = array<i64: 7, 0>, stride = array<i64: 2, -2>} : (tensor<8x6xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// concat: each operand gets its slice of g
// CHECK-LABEL: func.func @concat_grad
// CHECK: accel.slice
// CHECK: accel.slice
// CHECK: return
func.func @concat(%a: tensor<2x3xf32> {accel.input = "a"}, %b: tensor<2x5xf32> {accel.input = "b"}) -> tensor<2x8xf32> {
  %0 = accel.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// split: the used piece's g, zeros for the other, concatenated
// CHECK-LABEL: func.func @split_grad
// CHECK: accel.constant dense<0.000000e+00>
// CHECK: accel.concat
// CHECK: return
func.func @split(%x: tensor<2x8xf32> {accel.input = "x"}) -> tensor<2x5xf32> {
  %0:2 = accel.split %x {axis = 1 : i64} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x5xf32>)
  return %0#1 : tensor<2x5xf32>
}

// layer_norm: dx from the normalized value and its statistics; dg = sum(g * xhat), db = sum(g)
// CHECK-LABEL: func.func @layer_norm_grad
// CHECK: accel.reduce_mean
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.reduce_mean
// CHECK: accel.constant dense<9.99999974E-6>
// CHECK: accel.add
// CHECK: accel.rsqrt
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.reduce_mean
// CHECK: accel.mul
// CHECK: accel.reduce_mean
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.reduce_sum
// CHECK: accel.reduce_sum
// CHECK: return
func.func @layer_norm(%x: tensor<2x8xf32> {accel.input = "x"}, %g: tensor<8xf32> {accel.param = "g"}, %b: tensor<8xf32> {accel.param = "b"}) -> tensor<2x8xf32> {
  %0 = accel.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// rms_norm: dx = (g*w - xhat * mean(g*w*xhat)) / rms; dw = sum(g * xhat)
// CHECK-LABEL: func.func @rms_norm_grad
// CHECK: accel.mul
// CHECK: accel.reduce_mean
// CHECK: accel.constant dense<9.99999997E-7>
// CHECK: accel.add
// CHECK: accel.rsqrt
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.reduce_mean
// CHECK: accel.mul
// CHECK: accel.sub
// CHECK: accel.mul
// CHECK: accel.mul
// CHECK: accel.reduce_sum
// CHECK: return
func.func @rms_norm(%x: tensor<2x8xf32> {accel.input = "x"}, %g: tensor<8xf32> {accel.param = "g"}) -> tensor<2x8xf32> {
  %0 = accel.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// attention: the fused backward op, with the forward's attributes (P
// computed again in the kernel; dV = P^T g, dP = g V^T,
// dS = P (dP - rowsum(dP P)), dQ, dK)
// CHECK-LABEL: func.func @attention_grad
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x2x4x8xf32> {accel.input = "q"}, %[[K:[^:]*]]: tensor<1x2x4x8xf32> {accel.input = "k"}, %[[V:[^:]*]]: tensor<1x2x4x8xf32> {accel.input = "v"}, %[[G:[^:]*]]: tensor<1x2x4x8xf32> {accel.input = "output.grad"}
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = accel.attention_grad %[[Q]], %[[K]], %[[V]], %[[G]] {causal}
// CHECK-NOT: accel.matmul
// CHECK: return %[[DQ]], %[[DK]], %[[DV]]
func.func @attention(%q: tensor<1x2x4x8xf32> {accel.input = "q"}, %k: tensor<1x2x4x8xf32> {accel.input = "k"}, %v: tensor<1x2x4x8xf32> {accel.input = "v"}) -> tensor<1x2x4x8xf32> {
  %0 = accel.attention %q, %k, %v {causal} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// bf16 attention (accel-mixed-precision): the same op on bf16 operands and
// cotangent, the f32 mask passed on (not trained: a zero cotangent), bf16
// gradients
// CHECK-LABEL: func.func @attention_bf16_grad
// CHECK: accel.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x1x1x4xf32>) -> (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>)
// CHECK-NOT: accel.matmul
// CHECK: return
func.func @attention_bf16(%q: tensor<1x2x4x8xbf16> {accel.input = "q"}, %k: tensor<1x2x4x8xbf16> {accel.input = "k"}, %v: tensor<1x2x4x8xbf16> {accel.input = "v"}, %m: tensor<1x1x1x4xf32> {accel.input = "m"}) -> tensor<1x2x4x8xbf16> {
  %0 = accel.attention %q, %k, %v, %m : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xbf16>
  return %0 : tensor<1x2x4x8xbf16>
}

// bf16 layer_norm with fp32 parameters: the rule runs on fp32 copies of x
// and g, dx rounded to bf16 once, the parameters' gradients fp32
// CHECK-LABEL: func.func @layer_norm_bf16_grad
// CHECK: accel.cast %{{.*}} : (tensor<2x8xbf16>) -> tensor<2x8xf32>
// CHECK: accel.cast %{{.*}} : (tensor<2x8xbf16>) -> tensor<2x8xf32>
// CHECK-NOT: bf16
// CHECK: accel.cast %{{.*}} : (tensor<2x8xf32>) -> tensor<2x8xbf16>
// CHECK: accel.reduce_sum {{.*}} -> tensor<8xf32>
// CHECK: accel.reduce_sum {{.*}} -> tensor<8xf32>
// CHECK: return
func.func @layer_norm_bf16(%x: tensor<2x8xbf16> {accel.input = "x"}, %g: tensor<8xf32> {accel.param = "g"}, %b: tensor<8xf32> {accel.param = "b"}) -> tensor<2x8xbf16> {
  %0 = accel.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32, operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<2x8xbf16>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xbf16>
  return %0 : tensor<2x8xbf16>
}

// gather: dtable = scatter_add of g at the indices
// CHECK-LABEL: func.func @gather_grad
// CHECK: accel.scatter_add
// CHECK: return
func.func @gather(%t: tensor<10x4xf32> {accel.param = "t"}, %i: tensor<2x3xi64> {accel.input = "i"}) -> tensor<2x3x4xf32> {
  %0 = accel.gather %t, %i {axis = 0 : i64} : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// cumsum: dx = the running sum of g taken the other way
// CHECK-LABEL: func.func @cumsum_grad
// CHECK: accel.cumsum %{{.*}} {axis = 1 : i64, exclusive} :
// CHECK: return
func.func @cumsum(%x: tensor<2x5xf32> {accel.param = "x"}) -> tensor<2x5xf32> {
  %0 = accel.cumsum %x {axis = 1 : i64, exclusive, reverse} : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// gather with padding_idx (torch.nn.Embedding(padding_idx=)): the padding
// row gets no gradient
// CHECK-LABEL: func.func @embedding_padding_grad
// CHECK: accel.scatter_add %{{.*}}, %{{.*}} {axis = 0 : i64, skip_index = 1 : i64}
// CHECK: return
func.func @embedding_padding(%t: tensor<10x4xf32> {accel.param = "t"}, %i: tensor<2x3xi64> {accel.input = "i"}) -> tensor<2x3x4xf32> {
  %0 = accel.gather %t, %i {axis = 0 : i64, padding_idx = 1 : i64} : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// scatter_add: du = gather of g at the indices
// CHECK-LABEL: func.func @scatter_add_grad
// CHECK: accel.gather
// CHECK: return
func.func @scatter_add(%u: tensor<2x3x4xf32> {accel.input = "u"}, %i: tensor<2x3xi64> {accel.input = "i"}) -> tensor<10x4xf32> {
  %0 = accel.scatter_add %u, %i {axis = 0 : i64} : (tensor<2x3x4xf32>, tensor<2x3xi64>) -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}

// cross_entropy: fused: dx = g/n * (softmax(x) - (1-e) onehot - e/C)
// CHECK-LABEL: func.func @cross_entropy_grad
// CHECK: accel.cross_entropy_grad
// CHECK: return
func.func @cross_entropy(%x: tensor<4x10xf32> {accel.input = "x"}, %y: tensor<4xi64> {accel.input = "y"}) -> tensor<f32> {
  %0 = accel.cross_entropy %x, %y {label_smoothing = 0.1 : f64} : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// linear_cross_entropy: the gradients computed with the loss, for the
// cotangent the rule hands it (the logit gradients scaled before rounding)
// CHECK-LABEL: func.func @linear_cross_entropy_grad
// CHECK-SAME: %[[SEED:[^:]*]]: tensor<f32> {accel.input = "output.grad"}
// CHECK: %[[LOSS:.*]], %[[DH:.*]], %[[DW:.*]] = accel.linear_cross_entropy %{{.*}}, %{{.*}}, %{{.*}} cotangent %[[SEED]]
// CHECK-NOT: accel.mul
// CHECK: return %[[DH]], %[[DW]]
func.func @linear_cross_entropy(%h: tensor<4x8xf32> {accel.input = "h"}, %w: tensor<10x8xf32> {accel.input = "w"}, %y: tensor<4xi64> {accel.input = "y"}) -> tensor<f32> {
  %0:3 = accel.linear_cross_entropy %h, %w, %y : (tensor<4x8xf32>, tensor<10x8xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x8xf32>, tensor<10x8xf32>)
  return %0#0 : tensor<f32>
}
