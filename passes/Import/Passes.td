//===- Passes.td - Passes that give imported IR its accel form -*- tablegen -*-===//
//
// Exporters spell one concept many ways; these passes rewrite the spellings
// into the single accel op that later passes (sharding, recomputation,
// fusion) and the runtime understand. The importer runs them by default.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_PASSES_IMPORT_PASSES
#define ACCEL_PASSES_IMPORT_PASSES

include "mlir/Pass/PassBase.td"

def FormLinearPass : Pass<"accel-form-linear", "mlir::func::FuncOp"> {
  let summary = "Forms accel.linear from a matmul by a 2-D weight and its bias add";
  let description = [{
    `torch.nn.Linear` on a 3-D activation exports as `MatMul` by a
    transposed 2-D initializer plus `Add` of the bias. This pass rewrites a
    `accel.matmul` whose right operand is 2-D into `accel.linear` (with
    `weight_in_out` unless the matmul transposed it), then folds a following
    add of a 1-D bias into the linear op when nothing else reads the product.

    Before:
    ```mlir
    %0 = accel.matmul %x, %w : (tensor<2x8x16xf32>, tensor<16x32xf32>) -> tensor<2x8x32xf32>
    %1 = accel.add %0, %b : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
    ```
    After:
    ```mlir
    %1 = accel.linear %x, %w, %b {weight_in_out} : (tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
    ```
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def FormAttentionPass : Pass<"accel-form-attention", "mlir::func::FuncOp"> {
  let summary = "Forms accel.attention from the matmul-softmax-matmul subgraph";
  let description = [{
    Recognizes scaled dot-product attention as the exporters write it:
    `matmul(softmax(mask(scale * matmul(q, k^T))), v)` on rank-4 tensors,
    where the scale is any product of constant multiplications and
    divisions (on the scores, or split between q and k), and masks are
    additive float tensors or `where(keep, scores, very-negative)` selects.
    A constant mask that is exactly causal becomes the `causal` flag; the
    remaining masks are combined into one additive mask operand.

    Before:
    ```mlir
    %kt = accel.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
    %s = accel.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
    %d = accel.div %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
    %p = accel.softmax %d {axis = 3 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %o = accel.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    ```
    After:
    ```mlir
    %o = accel.attention %q, %k, %v {scale = 0.353553385 : f32} : (...) -> tensor<1x2x4x8xf32>
    ```
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def FormGeluPass : Pass<"accel-form-gelu", "mlir::func::FuncOp"> {
  let summary = "Forms accel.gelu from its erf and tanh formulas";
  let description = [{
    Exporters spell GELU out: `0.5 x (1 + erf(x / sqrt(2)))` for
    `torch.nn.GELU()` and `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`
    for the tanh approximation (GPT-2's `gelu_new`). This pass finds the
    final product, whatever the order of its factors, checks the constants,
    and replaces it with one `accel.gelu`, which the runtime computes in one
    pass and whose gradient rule is known.

    Before:
    ```mlir
    %s = accel.div %x, %sqrt2 : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    %e = accel.erf %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %t = accel.add %e, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    %p = accel.mul %x, %t : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    %y = accel.mul %p, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    ```
    After:
    ```mlir
    %y = accel.gelu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

def FormRmsNormPass : Pass<"accel-form-rms-norm", "mlir::func::FuncOp"> {
  let summary = "Forms accel.rms_norm from its formula";
  let description = [{
    Llama's `RMSNorm` exports as `x * 1/sqrt(mean(x^2) + eps)` (or
    `x / sqrt(...)`, or with `rsqrt`), usually followed by a multiplication
    by the weight. This pass forms one `accel.rms_norm` over the trailing
    dims that the mean reduces, taking in a following multiplication by a
    tensor of the normalized shape as its `scale`.

    Before:
    ```mlir
    %sq = accel.pow %x, %two : (tensor<2x8x64xf32>, tensor<f32>) -> tensor<2x8x64xf32>
    %m = accel.reduce_mean %sq {axes = array<i64: 2>, keep_dims} : (tensor<2x8x64xf32>) -> tensor<2x8x1xf32>
    %v = accel.add %m, %eps : (tensor<2x8x1xf32>, tensor<f32>) -> tensor<2x8x1xf32>
    %r = accel.rsqrt %v : (tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
    %n = accel.mul %x, %r : (tensor<2x8x64xf32>, tensor<2x8x1xf32>) -> tensor<2x8x64xf32>
    %y = accel.mul %w, %n : (tensor<64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
    ```
    After:
    ```mlir
    %y = accel.rms_norm %x, %w {axis = 2 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

#endif // ACCEL_PASSES_IMPORT_PASSES
