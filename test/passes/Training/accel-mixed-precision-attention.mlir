// RUN: accel-opt %s --accel-build-loss --accel-mixed-precision="dtype=bf16" | FileCheck %s
// Attention in the policy: its query, key and value in bf16, its mask fp32
// (added to the fp32 scores in the kernel). The reshapes, split and
// transposes between the QKV projection, attention and the output
// projection move bf16 values, so nothing is cast between the three.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[MASK:[^:]*]]: tensor<2x1x1x4xf32> {accel.input = "mask"}
// CHECK: %[[QKV:.*]] = accel.linear {{.*}} -> tensor<8x48xbf16>
// CHECK-NOT: accel.cast
// CHECK: accel.reshape %[[QKV]] : (tensor<8x48xbf16>) -> tensor<2x4x48xbf16>
// CHECK: accel.split {{.*}} -> (tensor<2x4x16xbf16>, tensor<2x4x16xbf16>, tensor<2x4x16xbf16>)
// CHECK-COUNT-3: accel.transpose {{.*}} -> tensor<2x2x4x8xbf16>
// CHECK-NOT: accel.cast
// CHECK: %[[O:.*]] = accel.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] : (tensor<2x2x4x8xbf16>, tensor<2x2x4x8xbf16>, tensor<2x2x4x8xbf16>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xbf16>
// CHECK-NOT: accel.cast
// CHECK: accel.transpose %[[O]] {{.*}} -> tensor<2x4x2x8xbf16>
// CHECK: accel.reshape {{.*}} -> tensor<8x16xbf16>
// CHECK: %[[Y:.*]] = accel.linear {{.*}} -> tensor<8x16xbf16>
// CHECK: %[[YF:.*]] = accel.cast %[[Y]] : (tensor<8x16xbf16>) -> tensor<8x16xf32>
// CHECK: accel.tanh %[[YF]]
func.func @attend(%wqkv: tensor<16x48xf32> {accel.param = "wqkv"},
                  %wo: tensor<16x16xf32> {accel.param = "wo"},
                  %x: tensor<8x16xf32> {accel.input = "x"},
                  %mask: tensor<2x1x1x4xf32> {accel.input = "mask"}) -> tensor<8x16xf32> {
  %qkv = accel.linear %x, %wqkv {weight_in_out} : (tensor<8x16xf32>, tensor<16x48xf32>) -> tensor<8x48xf32>
  %r = accel.reshape %qkv : (tensor<8x48xf32>) -> tensor<2x4x48xf32>
  %q, %k, %v = accel.split %r {axis = 2 : i64} : (tensor<2x4x48xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>)
  %q4 = accel.reshape %q : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
  %k4 = accel.reshape %k : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
  %v4 = accel.reshape %v : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
  %qh = accel.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x8xf32>) -> tensor<2x2x4x8xf32>
  %kh = accel.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x8xf32>) -> tensor<2x2x4x8xf32>
  %vh = accel.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x8xf32>) -> tensor<2x2x4x8xf32>
  %o = accel.attention %qh, %kh, %vh, %mask : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
  %ot = accel.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x4x8xf32>) -> tensor<2x4x2x8xf32>
  %o2 = accel.reshape %ot : (tensor<2x4x2x8xf32>) -> tensor<8x16xf32>
  %y = accel.linear %o2, %wo {weight_in_out} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %t = accel.tanh %y : (tensor<8x16xf32>) -> tensor<8x16xf32>
  return %t : tensor<8x16xf32>
}
