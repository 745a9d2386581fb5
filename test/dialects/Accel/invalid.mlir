// RUN: accel-opt %s -split-input-file -verify-diagnostics
// Each op's verifier and shape rule rejects malformed IR with a message.

func.func @add_no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{operand shapes [2, 3] and [4] do not broadcast}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @add_mixed_types(%a: tensor<2xf32>, %b: tensor<2xi64>) {
  // expected-error@+2 {{operand element types differ: 'f32' vs 'i64'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.add %a, %b : (tensor<2xf32>, tensor<2xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @add_wrong_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+2 {{inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @exp_of_int(%a: tensor<2xi64>) {
  // expected-error@+1 {{operand #0 must be ranked tensor of}}
  %0 = accel.exp %a : (tensor<2xi64>) -> tensor<2xi64>
  return
}

// -----

func.func @cast_shape(%a: tensor<2xi64>) {
  // expected-error@+1 {{result shape [3] differs from the operand's [2]}}
  %0 = accel.cast %a : (tensor<2xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @dropout_ratio(%a: tensor<2xf32>) {
  // expected-error@+1 {{attribute 'ratio' failed to satisfy constraint: 32-bit float attribute a probability in [0, 1)}}
  %0 = accel.dropout %a {ratio = 1.0 : f32, seed = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x2xf32>) {
  // expected-error@+2 {{operands must have rank >= 2, got 1 and 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.matmul %a, %b : (tensor<4xf32>, tensor<4x2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @matmul_contracting(%a: tensor<3x4xf32>, %b: tensor<5x2xf32>) {
  // expected-error@+2 {{contracting dims differ: lhs has 4, rhs has 5}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.matmul %a, %b : (tensor<3x4xf32>, tensor<5x2xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x2xf32>) {
  // expected-error@+2 {{batch dims [2] and [3] do not broadcast}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x2xf32>) -> tensor<2x3x2xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<2x8xf32>, %w: tensor<4x16xf32>) {
  // expected-error@+2 {{input features 8 do not match the weight's 16}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.linear %x, %w : (tensor<2x8xf32>, tensor<4x16xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error@+2 {{bias shape [8] must be [4]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.linear %x, %w, %b : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

// A bf16 product may keep its fp32 sums, but the bias is added to them
// (the runtime adds a bias of the result's type).
func.func @linear_wide_bias(%x: tensor<2x8xbf16>, %w: tensor<4x8xbf16>, %b: tensor<4xbf16>) {
  // expected-error@+1 {{with an f32 result of 'bf16' operands takes no bias}}
  %0 = accel.linear %x, %w, %b : (tensor<2x8xbf16>, tensor<4x8xbf16>, tensor<4xbf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_narrower(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error@+2 {{inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4xbf16>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xbf16>
  return
}

// -----

func.func @attention_rank(%q: tensor<4x8x16xf32>) {
  // expected-error@+2 {{query, key and value must be rank 4 [batch, heads, seq, dim]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.attention %q, %q, %q : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return
}

// -----

func.func @attention_dims(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x8xf32>) {
  // expected-error@+2 {{query dim 16 differs from key dim 8}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.attention %q, %k, %k : (tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  return
}

// -----

func.func @attention_grad_cotangent(%q: tensor<1x2x8x16xf32>, %g: tensor<1x2x8x8xf32>) {
  // expected-error@+2 {{grad must be typed as the attention's result, 'tensor<1x2x8x16xf32>', got 'tensor<1x2x8x8xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:3 = accel.attention_grad %q, %q, %q, %g : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xf32>) -> (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
  return
}

// -----

func.func @attention_mask(%q: tensor<1x2x8x16xf32>, %m: tensor<1x1x8x4xi1>) {
  // expected-error@+2 {{mask shape [1, 1, 8, 4] does not broadcast to the scores [1, 2, 8, 8]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.attention %q, %q, %q, %m : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x8x4xi1>) -> tensor<1x2x8x16xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error@+2 {{axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.softmax %x {axis = 2 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error@+2 {{scale shape [4] must equal the normalized dims [8]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32, operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<2x8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_scale(%x: tensor<2x8xf32>, %g: tensor<2x8xf32>) {
  // expected-error@+2 {{scale shape [2, 8] must equal the normalized dims [8]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @reduce_unsorted(%x: tensor<2x8xf32>) {
  // expected-error@+2 {{axes must be sorted and unique}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.reduce_sum %x {axes = array<i64: 1, 0>} : (tensor<2x8xf32>) -> tensor<f32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x8xf32>) {
  // expected-error@+1 {{element count changes from 16 to 15}}
  %0 = accel.reshape %x : (tensor<2x8xf32>) -> tensor<3x5xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x8x4xf32>) {
  // expected-error@+2 {{permutation [0, 0, 1] is not a permutation of 0..2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.transpose %x {permutation = array<i64: 0, 0, 1>} : (tensor<2x8x4xf32>) -> tensor<2x2x8xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) {
  // expected-error@+2 {{dim 0 of size 4 cannot be sliced from 0 to 5 by 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.slice %x {start = array<i64: 0>, limit = array<i64: 5>, stride = array<i64: 1>} : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @slice_stride(%x: tensor<4xf32>) {
  // expected-error@+2 {{stride of dim 0 is zero}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.slice %x {start = array<i64: 0>, limit = array<i64: 4>, stride = array<i64: 0>} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @concat_shapes(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error@+2 {{operand shapes [2, 3] and [3, 3] differ outside axis 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @split_sizes(%x: tensor<2x12xf32>) {
  // expected-error@+1 {{pieces add up to 10 along axis 1, operand has 12}}
  %0:2 = accel.split %x {axis = 1 : i64} : (tensor<2x12xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>)
  return
}

// -----

func.func @broadcast_shape(%x: tensor<3xf32>) {
  // expected-error@+1 {{operand shape [3] does not broadcast to [2, 4]}}
  %0 = accel.broadcast %x : (tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<3x4xf32>, %i: tensor<2xi64>) {
  // expected-error@+2 {{axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.gather %x, %i {axis = 2 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  return
}

// -----

func.func @gather_float_indices(%x: tensor<3x4xf32>, %i: tensor<2xf32>) {
  // expected-error@+1 {{operand #1 must be ranked tensor of 64-bit signless integer or 32-bit signless integer values}}
  %0 = accel.gather %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @all_gather_blocks(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{the result 'tensor<6x8xf32>' must be the other side's blocks along dim 0, not of 'tensor<4x8xf32>'}}
  %0 = accel.all_gather %x {group = "dp"} : (tensor<4x8xf32>) -> tensor<6x8xf32>
  return
}

// -----

func.func @reduce_scatter_blocks(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{the operand 'tensor<4x8xf32>' must be the other side's blocks along dim 0, not of 'tensor<2x4xf32>'}}
  %0 = accel.reduce_scatter %x {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @all_gather_axis_blocks(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{the result 'tensor<8x16xf32>' must be the other side's blocks along dim 1, not of 'tensor<4x8xf32>'}}
  %0 = accel.all_gather %x {group = "dp", axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @wait_reads_other(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) {
  %h = accel.reduce_scatter_start %x {group = "dp", reduction = #accel<reduction sum>} : (tensor<4x8xf32>) -> tensor<2x8xf32>
  // expected-error@+1 {{waits on a value no accel.all_reduce_start began (with no reads) or no accel.reduce_scatter_start or accel.all_gather_start began (with its operand as the one read)}}
  %0 = accel.wait %h, %y : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @wait_without_reads(%x: tensor<4x8xf32>) {
  %h = accel.all_gather_start %x {group = "dp"} : (tensor<4x8xf32>) -> tensor<8x8xf32>
  // expected-error@+1 {{waits on a value no accel.all_reduce_start began}}
  %0 = accel.wait %h : (tensor<8x8xf32>) -> tensor<8x8xf32>
  return
}

// -----

func.func @all_slice_blocks(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{result 'tensor<4x3xf32>' must be a block of 'tensor<4x8xf32>' along dim 1}}
  %0 = accel.all_slice %x {group = "dp", axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @cumsum_axis(%x: tensor<3x4xf32>) {
  // expected-error@+2 {{axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.cumsum %x {axis = 2 : i64} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @gather_padding_idx(%x: tensor<3x4xf32>, %i: tensor<2xi64>) {
  // expected-error@+1 {{padding_idx 3 is out of range for an axis of 3}}
  %0 = accel.gather %x, %i {axis = 0 : i64, padding_idx = 3 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @scatter_add_skip_index(%u: tensor<2x4xf32>, %i: tensor<2xi64>) {
  // expected-error@+1 {{skip_index -11 is out of range for an axis of 10}}
  %0 = accel.scatter_add %u, %i {axis = 0 : i64, skip_index = -11 : i64} : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<10x4xf32>
  return
}

// -----

func.func @scatter_add_shape(%u: tensor<2x3x4xf32>, %i: tensor<2x2xi64>) {
  // expected-error@+1 {{updates shape [2, 3, 4] must be [2, 2, 4] for indices [2, 2] along axis 0}}
  %0 = accel.scatter_add %u, %i {axis = 0 : i64} : (tensor<2x3x4xf32>, tensor<2x2xi64>) -> tensor<10x4xf32>
  return
}

// -----

func.func @cross_entropy_labels(%x: tensor<4x10xf32>, %y: tensor<5xi64>) {
  // expected-error@+2 {{labels 'tensor<5xi64>' must have the shape of the logits 'tensor<4x10xf32>' without the class dim}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.cross_entropy %x, %y : (tensor<4x10xf32>, tensor<5xi64>) -> tensor<f32>
  return
}

// -----

func.func @lr_schedule_total(%s: tensor<i64>) {
  // expected-error@+1 {{a 'linear' schedule needs total_steps}}
  %0 = accel.lr_schedule %s {schedule = #accel<lr_schedule linear>, lr = 1.0 : f64} : (tensor<i64>) -> tensor<f64>
  return
}

// -----

func.func @unscale_vector_scale(%inv: tensor<2xf32>, %g: tensor<8xf32>) {
  // expected-error@+2 {{inv_scale must be a scalar, not 'tensor<2xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:2 = accel.unscale_gradients %inv, %g : (tensor<2xf32>, tensor<8xf32>) -> (tensor<i1>, tensor<8xf32>)
  return
}

// -----

func.func @loss_scale_growth(%s: tensor<f32>, %t: tensor<i64>, %f: tensor<i1>) {
  // expected-error@+1 {{growth_factor must be > 1}}
  %0:2 = accel.update_loss_scale %s, %t, %f {growth_factor = 1.0 : f64, backoff_factor = 0.5 : f64, growth_interval = 2000 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @loss_scale_backoff(%s: tensor<f32>, %t: tensor<i64>, %f: tensor<i1>) {
  // expected-error@+1 {{backoff_factor must be in (0, 1)}}
  %0:2 = accel.update_loss_scale %s, %t, %f {growth_factor = 2.0 : f64, backoff_factor = 1.5 : f64, growth_interval = 2000 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @loss_scale_interval(%s: tensor<f32>, %t: tensor<i64>, %f: tensor<i1>) {
  // expected-error@+1 {{growth_interval must be a positive integer}}
  %0:2 = accel.update_loss_scale %s, %t, %f {growth_factor = 2.0 : f64, backoff_factor = 0.5 : f64, growth_interval = 0 : i64} : (tensor<f32>, tensor<i64>, tensor<i1>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @adamw_state_type(%p: tensor<8xf32>, %m: tensor<4xf32>, %lr: tensor<f64>, %s: tensor<i64>) {
  // expected-error@+2 {{exp_avg 'tensor<4xf32>' must have the parameter's type 'tensor<8xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:3 = accel.adamw %p, %p, %m, %p, %lr, %s {beta1 = 0.9 : f64, beta2 = 0.999 : f64, epsilon = 1.0e-8 : f64, weight_decay = 0.0 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0>} : (tensor<8xf32>, tensor<8xf32>, tensor<4xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @sgd_buffer(%p: tensor<8xf32>, %lr: tensor<f64>, %s: tensor<i64>) {
  // expected-error@+2 {{a momentum buffer is needed exactly when momentum is non-zero}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = accel.sgd %p, %p, %lr, %s {momentum = 0.9 : f64, dampening = 0.0 : f64, weight_decay = 0.0 : f64, nesterov = false, operandSegmentSizes = array<i32: 1, 1, 0, 1, 1, 0, 0>} : (tensor<8xf32>, tensor<8xf32>, tensor<f64>, tensor<i64>) -> tensor<8xf32>
  return
}

// -----

func.func @linear_cross_entropy_weight(%h: tensor<4x8xf32>, %w: tensor<10x6xf32>, %y: tensor<4xi64>) {
  // expected-error@+2 {{input 'tensor<4x8xf32>' does not fit weight 'tensor<10x6xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:3 = accel.linear_cross_entropy %h, %w, %y : (tensor<4x8xf32>, tensor<10x6xf32>, tensor<4xi64>) -> (tensor<f32>, tensor<4x8xf32>, tensor<10x6xf32>)
  return
}

// -----

// A negative epsilon would divide by the square root of a negative variance.
func.func @layer_norm_negative_epsilon(%x: tensor<2x8xf32>) {
  // expected-error@+1 {{attribute 'epsilon' failed to satisfy constraint: 32-bit float attribute a finite non-negative number}}
  %0 = accel.layer_norm %x {axis = 1 : i64, epsilon = -1.0 : f32, operandSegmentSizes = array<i32: 1, 0, 0>} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rms_norm_nan_epsilon(%x: tensor<2x8xf32>) {
  // expected-error@+1 {{attribute 'epsilon' failed to satisfy constraint: 32-bit float attribute a finite non-negative number}}
  %0 = accel.rms_norm %x {axis = 1 : i64, epsilon = 0x7FC00000 : f32} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

// A constant is stored whole in the executable: a splat of 4 TiB is refused
// here, not when the executable writer runs out of memory.
func.func @constant_too_large() {
  // expected-error@+1 {{'accel.constant' op of type 'tensor<1048576x1048576xf32>' holds 4398046511104 bytes; a constant is stored whole in the executable and may hold at most 1 GiB}}
  %0 = accel.constant dense<0.0> : tensor<1048576x1048576xf32>
  return
}
