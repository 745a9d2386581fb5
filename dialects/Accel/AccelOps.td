//===- AccelOps.td - Ops of the accel dialect -----------------*- tablegen -*-===//
//
// Conventions: every op has value semantics on ranked tensors, infers its
// result types (the inference doubles as the verifier: "inferred type(s) ...
// are incompatible" is how a wrong result type is reported), prints as
// `accel.op %a, %b {attrs} : (operand types) -> result types`, and
// implements CostOpInterface. Axes are non-negative.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_OPS
#define ACCEL_DIALECT_ACCEL_OPS

include "dialects/Accel/AccelBase.td"
include "dialects/Accel/AccelInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class Accel_PureOp<string mnemonic, list<Trait> traits = []>
    : Accel_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<Accel_CostOpInterface>])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

// Ops whose reverse-mode rule is implemented (AccelGradients.cpp).
defvar Accel_Differentiable =
    DeclareOpInterfaceMethods<Accel_DifferentiableOpInterface>;

class Accel_InferredOp<string mnemonic, list<Trait> traits = []>
    : Accel_PureOp<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Accel_ConstantOp : Accel_PureOp<"constant", [ConstantLike,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "A small constant tensor";
  let description = [{
    A tensor literal: shape vectors, scalars, masks. Weights never appear
    here; they are function arguments backed by safetensors. A constant is
    stored whole in the executable, so it holds at most 1 GiB (a splat
    too).

    ```mlir
    %0 = accel.constant dense<[1, 32, 768]> : tensor<3xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Accel_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  // At most kMaxConstantBytes (1 GiB): stored and loaded whole.
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Accel_BinaryOp<string mnemonic, string formula, list<Trait> traits = []>
    : Accel_InferredOp<mnemonic, traits> {
  let summary = "Elementwise " # formula # " with NumPy broadcasting";
  let description = [{
    Computes `}] # formula # [{` elementwise. Both operands have one element
    type; shapes broadcast as in NumPy (trailing dims align; a dim of 1
    stretches). The result has the broadcast shape.

    ```mlir
    %r = accel.}] # mnemonic # [{ %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$lhs, Accel_NumericTensor:$rhs);
  let results = (outs Accel_NumericTensor:$result);
}

def Accel_AddOp : Accel_BinaryOp<"add", "lhs + rhs", [Commutative, Accel_Differentiable]>;
def Accel_SubOp : Accel_BinaryOp<"sub", "lhs - rhs", [Accel_Differentiable]>;
def Accel_MulOp : Accel_BinaryOp<"mul", "lhs * rhs", [Commutative, Accel_Differentiable]> {
  let hasCanonicalizer = 1;
}
def Accel_DivOp : Accel_BinaryOp<"div", "lhs / rhs (integers truncate toward zero)", [Accel_Differentiable]>;
def Accel_PowOp : Accel_BinaryOp<"pow", "lhs ** rhs", [Accel_Differentiable]>;
def Accel_MaxOp : Accel_BinaryOp<"max", "max(lhs, rhs)", [Commutative, Accel_Differentiable]>;
def Accel_MinOp : Accel_BinaryOp<"min", "min(lhs, rhs)", [Commutative, Accel_Differentiable]>;

class Accel_UnaryOp<string mnemonic, string formula, Type type = Accel_FloatTensor,
                    list<Trait> traits = []>
    : Accel_InferredOp<mnemonic, !listconcat(traits, [Elementwise])> {
  let summary = "Elementwise " # formula;
  let description = [{
    Computes `}] # formula # [{` for every element; the result has the
    operand's type.

    ```mlir
    %r = accel.}] # mnemonic # [{ %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins type:$operand);
  let results = (outs type:$result);
}

def Accel_NegOp : Accel_UnaryOp<"neg", "-x", Accel_NumericTensor, [Accel_Differentiable]>;
def Accel_AbsOp : Accel_UnaryOp<"abs", "|x|", Accel_NumericTensor, [Accel_Differentiable]>;
def Accel_ExpOp : Accel_UnaryOp<"exp", "e^x", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_LogOp : Accel_UnaryOp<"log", "ln(x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_SqrtOp : Accel_UnaryOp<"sqrt", "sqrt(x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_RsqrtOp : Accel_UnaryOp<"rsqrt", "1 / sqrt(x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_ReciprocalOp : Accel_UnaryOp<"reciprocal", "1 / x", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_TanhOp : Accel_UnaryOp<"tanh", "tanh(x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_ErfOp : Accel_UnaryOp<"erf", "erf(x)", Accel_FloatTensor, [Accel_Differentiable]>;
def Accel_ReluOp : Accel_UnaryOp<"relu", "max(x, 0)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_SigmoidOp : Accel_UnaryOp<"sigmoid", "1 / (1 + e^-x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_SiluOp : Accel_UnaryOp<"silu", "x * sigmoid(x)", Accel_FloatTensor,
                                  [Accel_Differentiable]>;
def Accel_SinOp : Accel_UnaryOp<"sin", "sin(x)", Accel_FloatTensor, [Accel_Differentiable]>;
def Accel_CosOp : Accel_UnaryOp<"cos", "cos(x)", Accel_FloatTensor, [Accel_Differentiable]>;
def Accel_FloorOp : Accel_UnaryOp<"floor", "floor(x)", Accel_FloatTensor, [Accel_Differentiable]>;
def Accel_CeilOp : Accel_UnaryOp<"ceil", "ceil(x)", Accel_FloatTensor, [Accel_Differentiable]>;
def Accel_NotOp : Accel_UnaryOp<"not", "logical not", Accel_BoolTensor>;

def Accel_GeluOp : Accel_InferredOp<"gelu", [Elementwise, Accel_Differentiable]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `x * Phi(x)` with the exact Gaussian CDF (`approximate = none`, PyTorch's
    default) or its tanh form (`approximate = tanh`, GPT-2's `gelu_new`):
    `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.

    ```mlir
    %r = accel.gelu %x {approximate = #accel<gelu_approximation tanh>} : (tensor<8x16xf32>) -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$operand,
      DefaultValuedAttr<Accel_GeluApproximationAttr,
                        "::accel::GeluApproximation::None">:$approximate);
  let results = (outs Accel_FloatTensor:$result);
}

def Accel_CompareOp : Accel_InferredOp<"compare"> {
  let summary = "Elementwise comparison with broadcasting, giving i1";
  let description = [{
    `lhs <direction> rhs` per element after NumPy broadcasting.

    ```mlir
    %m = accel.compare %a, %b {direction = #accel<compare_direction lt>} : (tensor<4xi64>, tensor<1xi64>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$lhs, Accel_NumericTensor:$rhs,
                       Accel_CompareDirectionAttr:$direction);
  let results = (outs Accel_BoolTensor:$result);
}

def Accel_WhereOp : Accel_InferredOp<"where", [Accel_Differentiable]> {
  let summary = "Elementwise select with broadcasting";
  let description = [{
    `condition ? on_true : on_false` per element; the three shapes broadcast
    together and the two values share an element type.

    ```mlir
    %r = accel.where %m, %a, %b : (tensor<1x1x4x4xi1>, tensor<2x12x4x4xf32>, tensor<f32>) -> tensor<2x12x4x4xf32>
    ```
  }];
  let arguments = (ins Accel_BoolTensor:$condition, Accel_Tensor:$on_true,
                       Accel_Tensor:$on_false);
  let results = (outs Accel_Tensor:$result);
}

def Accel_CastOp : Accel_PureOp<"cast", [Accel_Differentiable]> {
  let summary = "Element type conversion";
  let description = [{
    Converts every element to the result's element type, shape unchanged.
    Float to integer truncates toward zero; to i1 tests for non-zero.

    ```mlir
    %r = accel.cast %x : (tensor<4xi64>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand);
  let results = (outs Accel_Tensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Accel_UnitInterval : AttrConstraint<
    CPred<"::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() >= 0 && "
          "::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() < 1">,
    "a probability in [0, 1)">;

def Accel_NonNegativeFinite : AttrConstraint<
    CPred<"::std::isfinite(::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble()) && "
          "::llvm::cast<::mlir::FloatAttr>($_self).getValueAsDouble() >= 0">,
    "a finite non-negative number">;

def Accel_DropoutOp : Accel_InferredOp<"dropout", [Accel_Differentiable]> {
  let summary = "Inverted dropout with a seeded counter-based generator";
  let description = [{
    Zeroes each element with probability `ratio` and scales the kept ones by
    `1 / (1 - ratio)`. Whether element `i` is kept depends only on `(seed,
    step, i)`, so the result is the same on any thread count and can be
    recomputed in the backward pass. `step` (an int64 scalar, absent = 0) is
    what the training-step pass feeds so that every step draws a new mask.
    An imported inference graph has `ratio = 0`, a copy. With
    `split_group`, the operand is this rank's block along dim 0 of a tensor
    split over that group (the sharding partition sets it): element `i` is
    element `rank * size + i` of the whole, so every rank draws its block of
    the single-process mask.

    ```mlir
    %r = accel.dropout %x, %step {ratio = 1.0e-01 : f32, seed = 42 : i64} : (tensor<2x8xf32>, tensor<i64>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$operand,
      Optional<RankedTensorOf<[I64]>>:$step,
      ConfinedAttr<F32Attr, [Accel_UnitInterval]>:$ratio, I64Attr:$seed,
      OptionalAttr<StrAttr>:$split_group);
  let results = (outs Accel_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Accel_MatmulOp : Accel_InferredOp<"matmul", [Accel_Differentiable]> {
  let summary = "Batched matrix product with optional transposes";
  let description = [{
    `lhs: [..., M, K]` times `rhs: [..., K, N]` gives `[..., M, N]`; leading
    batch dims broadcast. `transpose_lhs` / `transpose_rhs` read the operand's
    last two dims swapped (`[..., K, M]`, `[..., N, K]`) without a copy. Both
    operands have rank >= 2; the importer reshapes rank-1 ONNX operands.
    With bf16/fp16 operands the result may be f32: the products are summed
    in fp32 and kept unrounded (a partial sum that an all-reduce completes
    before it is rounded, a gradient kept in fp32).

    ```mlir
    %s = accel.matmul %q, %k {transpose_rhs} : (tensor<2x12x32x64xf32>, tensor<2x12x32x64xf32>) -> tensor<2x12x32x32xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$lhs, Accel_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Accel_FloatTensor:$result);
  let extraClassDeclaration = [{
    /// The inferred type, or f32 in place of bf16/fp16.
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual);
  }];
}

def Accel_LinearOp : Accel_InferredOp<"linear", [Accel_Differentiable]> {
  let summary = "A fully connected layer: input times weight plus bias";
  let description = [{
    `input: [..., K]` times the 2-D `weight` plus the optional 1-D `bias: [N]`
    gives `[..., N]`. The weight is `[N, K]` as `torch.nn.Linear` stores it,
    or `[K, N]` (as GPT-2's `Conv1D` and transposed ONNX initializers do)
    when `weight_in_out` is set. Kept as one op so that tensor parallelism
    can shard it by rows or columns and the runtime can fuse the bias. As
    for `matmul`, bf16/fp16 operands may give an f32 result (without bias).

    ```mlir
    %y = accel.linear %x, %w, %b : (tensor<2x16x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$input, Accel_FloatTensor:$weight,
                       Optional<Accel_FloatTensor>:$bias, UnitAttr:$weight_in_out);
  let results = (outs Accel_FloatTensor:$result);
  let extraClassDeclaration = [{
    /// The inferred type, or f32 in place of bf16/fp16.
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual);
  }];
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Accel_AttentionOp : Accel_InferredOp<"attention", [Accel_Differentiable]> {
  let summary = "Scaled dot-product attention";
  let description = [{
    `softmax(query key^T * scale + mask) value` per batch and head, like
    `torch.nn.functional.scaled_dot_product_attention`. Shapes: query
    `[B, H, Sq, D]`, key `[B, H, Sk, D]`, value `[B, H, Sk, Dv]`, result
    `[B, H, Sq, Dv]`. `mask` broadcasts to `[B, H, Sq, Sk]`: i1 keeps where
    true, a float mask is added. `causal` masks key positions after the
    query's (aligned to the end when Sq < Sk). `scale` defaults to
    `1/sqrt(D)`. The importer forms this op from the exporters' matmul /
    scale / mask / softmax / matmul subgraph.

    With bf16 or fp16 query, key and value (accel-mixed-precision), the
    products are summed in fp32, the scores, mask and softmax are fp32, the
    probabilities are rounded to the low type for the second product and
    the result is rounded once; a float mask is then f32 or the low type.

    ```mlir
    %o = accel.attention %q, %k, %v {causal} : (tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>) -> tensor<1x12x32x64xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$query, Accel_FloatTensor:$key,
                       Accel_FloatTensor:$value,
                       Optional<RankedTensorOf<[Accel_Float, I1]>>:$mask,
                       UnitAttr:$causal, OptionalAttr<F32Attr>:$scale);
  let results = (outs Accel_FloatTensor:$result);
  let extraClassDeclaration = [{
    /// The scale applied to the scores: the attribute or 1/sqrt(D).
    float getScaleOrDefault();
  }];
  let hasCanonicalizer = 1;
}

def Accel_AttentionGradOp : Accel_InferredOp<"attention_grad"> {
  let summary = "Gradient of accel.attention with respect to query, key and value";
  let description = [{
    The reverse of `accel.attention` with the same operands, attributes and
    precision, for the result's cotangent `grad`: with the probabilities
    `P = softmax(query key^T * scale + mask)` computed again as the forward
    kernel computes them, `dV = P^T grad`, `dP = grad V^T`,
    `dS = P (dP - rowsum(dP P)) * scale`, `dQ = dS K`, `dK = dS^T Q`.
    The kernel works one block of query rows at a time, so neither `P` nor
    `dS` exists whole (`[B, H, Sq, Sk]` each, the largest tensors of a
    decomposed backward pass); `dK` and `dV` are summed over the blocks in
    fp32. bf16/fp16 operands: products on low-precision operands with fp32
    sums, `P` and `dS` rounded to the low type where they enter a product,
    the results rounded once.

    ```mlir
    %dq, %dk, %dv = accel.attention_grad %q, %k, %v, %g {causal} : (tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>) -> (tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>, tensor<1x12x32x64xf32>)
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$query, Accel_FloatTensor:$key,
                       Accel_FloatTensor:$value, Accel_FloatTensor:$grad,
                       Optional<RankedTensorOf<[Accel_Float, I1]>>:$mask,
                       UnitAttr:$causal, OptionalAttr<F32Attr>:$scale);
  let results = (outs Accel_FloatTensor:$query_grad,
                      Accel_FloatTensor:$key_grad,
                      Accel_FloatTensor:$value_grad);
  let extraClassDeclaration = [{
    /// The scale applied to the scores: the attribute or 1/sqrt(D).
    float getScaleOrDefault();
  }];
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

class Accel_SoftmaxLikeOp<string mnemonic, string formula>
    : Accel_InferredOp<mnemonic, [Accel_Differentiable]> {
  let summary = formula # " along one axis";
  let description = [{
    `}] # formula # [{` over `axis`, computed stably (the maximum is
    subtracted first).

    ```mlir
    %p = accel.}] # mnemonic # [{ %x {axis = 3 : i64} : (tensor<1x12x32x32xf32>) -> tensor<1x12x32x32xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$operand,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis);
  let results = (outs Accel_FloatTensor:$result);
}
def Accel_SoftmaxOp : Accel_SoftmaxLikeOp<"softmax", "exp(x) / sum(exp(x))">;
def Accel_LogSoftmaxOp : Accel_SoftmaxLikeOp<"log_softmax", "x - log(sum(exp(x)))">;

def Accel_LayerNormOp : Accel_InferredOp<"layer_norm",
    [AttrSizedOperandSegments, Accel_Differentiable]> {
  let summary = "Layer normalization over the trailing dims";
  let description = [{
    Normalizes over dims `axis ..< rank` to zero mean and unit (biased)
    variance, then applies the optional elementwise `scale` and `bias`, whose
    shape is the normalized dims: `torch.nn.LayerNorm`.

    ```mlir
    %y = accel.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$operand,
                       Optional<Accel_FloatTensor>:$scale,
                       Optional<Accel_FloatTensor>:$bias,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis,
                       ConfinedAttr<F32Attr, [Accel_NonNegativeFinite]>:$epsilon);
  let results = (outs Accel_FloatTensor:$result);
}

def Accel_RmsNormOp : Accel_InferredOp<"rms_norm", [Accel_Differentiable]> {
  let summary = "Root-mean-square normalization over the trailing dims";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * scale` over dims `axis ..< rank`, as
    Llama's `RMSNorm`; `scale` (optional) has the normalized shape.

    ```mlir
    %y = accel.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-06 : f32} : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Accel_FloatTensor:$operand,
                       Optional<Accel_FloatTensor>:$scale,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis,
                       ConfinedAttr<F32Attr, [Accel_NonNegativeFinite]>:$epsilon);
  let results = (outs Accel_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Accel_ReduceOp<string mnemonic, string what, list<Trait> traits = []>
    : Accel_InferredOp<mnemonic, traits> {
  let summary = "The " # what # " over a set of axes";
  let description = [{
    Reduces `axes` (sorted, unique, non-negative). With `keep_dims` the
    reduced dims stay as 1s; without, they are dropped.

    ```mlir
    %s = accel.}] # mnemonic # [{ %x {axes = array<i64: 1>, keep_dims} : (tensor<4x8xf32>) -> tensor<4x1xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand, DenseI64ArrayAttr:$axes,
                       UnitAttr:$keep_dims);
  let results = (outs Accel_NumericTensor:$result);
}
def Accel_ReduceSumOp : Accel_ReduceOp<"reduce_sum", "sum", [Accel_Differentiable]>;
def Accel_ReduceMeanOp : Accel_ReduceOp<"reduce_mean", "mean", [Accel_Differentiable]>;
def Accel_ReduceMaxOp : Accel_ReduceOp<"reduce_max", "maximum", [Accel_Differentiable]>;
def Accel_ReduceMinOp : Accel_ReduceOp<"reduce_min", "minimum", [Accel_Differentiable]>;

def Accel_CumSumOp : Accel_InferredOp<"cumsum", [Accel_Differentiable]> {
  let summary = "Running sum along one axis";
  let description = [{
    `result[..., i, ...]` is the sum of `operand[..., j, ...]` over `j <= i`
    along `axis` (`torch.cumsum`, ONNX `CumSum`). With `exclusive` the
    element itself is left out (`j < i`); with `reverse` the sum runs from the
    end (`j >= i`). Floats are summed in double precision and rounded once,
    as PyTorch does on CPU; integers wrap. Exporters compute position ids
    with it (RoBERTa's from the non-pad tokens, OPT's from the attention
    mask).

    ```mlir
    %p = accel.cumsum %m {axis = 1 : i64} : (tensor<2x16xi64>) -> tensor<2x16xi64>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$operand,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis,
                       UnitAttr:$exclusive, UnitAttr:$reverse);
  let results = (outs Accel_NumericTensor:$result);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Accel_ReshapeOp : Accel_PureOp<"reshape", [Accel_Differentiable]> {
  let summary = "Same elements, new static shape";
  let description = [{
    Reinterprets the row-major elements with the result's shape; element
    counts match.

    ```mlir
    %r = accel.reshape %x : (tensor<2x16x768xf32>) -> tensor<2x16x12x64xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand);
  let results = (outs Accel_Tensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Accel_TransposeOp : Accel_InferredOp<"transpose", [Accel_Differentiable]> {
  let summary = "Permutes the dims";
  let description = [{
    `result.shape[i] = operand.shape[permutation[i]]`.

    ```mlir
    %t = accel.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x12x64xf32>) -> tensor<2x12x16x64xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand, DenseI64ArrayAttr:$permutation);
  let results = (outs Accel_Tensor:$result);
  let hasFolder = 1;
}

def Accel_SliceOp : Accel_InferredOp<"slice", [Accel_Differentiable]> {
  let summary = "A strided box of a tensor";
  let description = [{
    Per dim, takes `start, start + stride, ...` while before `limit` (after it
    for negative strides); starts and limits are already clamped in range.

    ```mlir
    %s = accel.slice %x {start = array<i64: 0, 0>, limit = array<i64: 2, 64>, stride = array<i64: 1, 2>} : (tensor<4x64xf32>) -> tensor<2x32xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$limit, DenseI64ArrayAttr:$stride);
  let results = (outs Accel_Tensor:$result);
}

def Accel_ConcatOp : Accel_InferredOp<"concat", [Accel_Differentiable]> {
  let summary = "Joins tensors along one axis";
  let description = [{
    All operands share an element type and every dim but `axis`.

    ```mlir
    %c = accel.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Accel_Tensor>:$operands, I64Attr:$axis);
  let results = (outs Accel_Tensor:$result);
}

def Accel_SplitOp : Accel_PureOp<"split", [Accel_Differentiable]> {
  let summary = "Cuts a tensor along one axis into consecutive pieces";
  let description = [{
    Piece sizes along `axis` are the results' dims there and add up to the
    operand's; other dims match.

    ```mlir
    %q, %k, %v = accel.split %qkv {axis = 2 : i64} : (tensor<2x16x192xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>)
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand, I64Attr:$axis);
  let results = (outs Variadic<Accel_Tensor>:$results);
  let hasVerifier = 1;
}

def Accel_BroadcastOp : Accel_PureOp<"broadcast", [Accel_Differentiable]> {
  let summary = "Replicates a tensor to a larger shape, NumPy rules";
  let description = [{
    The operand's dims align with the result's trailing dims; each is equal
    or 1.

    ```mlir
    %b = accel.broadcast %x : (tensor<1x64xf32>) -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand);
  let results = (outs Accel_Tensor:$result);
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Accel_GatherOp : Accel_InferredOp<"gather", [Accel_Differentiable]> {
  let summary = "Takes slices at the given indices: embedding lookup";
  let description = [{
    `result = operand.take(indices, axis)`: shape is `operand.shape[:axis] +
    indices.shape + operand.shape[axis+1:]`. Negative indices count from the
    end; an index out of range is a run-time error naming it. With axis 0
    and a 2-D table this is `torch.nn.Embedding`.

    `padding_idx`, when set, is `torch.nn.Embedding(padding_idx=)`: the
    forward is unchanged, but the slice at that index gets no gradient
    (its rows stay as initialized, apart from weight decay).

    ```mlir
    %e = accel.gather %wte, %ids {axis = 0 : i64} : (tensor<50257x768xf32>, tensor<2x16xi64>) -> tensor<2x16x768xf32>
    ```
  }];
  let arguments = (ins Accel_Tensor:$operand, Accel_IndexTensor:$indices,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis,
                       OptionalAttr<I64Attr>:$padding_idx);
  let results = (outs Accel_Tensor:$result);
  let hasVerifier = 1;
}

def Accel_ScatterAddOp : Accel_PureOp<"scatter_add", [Accel_Differentiable,
    DeclareOpInterfaceMethods<Accel_InPlaceOpInterface>]> {
  let summary = "Adds slices into zeros at the given indices: gather's adjoint";
  let description = [{
    The result (its type gives the shape) starts as zeros, or as `init`
    when given (written in place when nothing reads `init` later:
    `accel-accumulate-in-place` forms it from `add(x, scatter_add(...))`,
    a tied embedding's two gradients); each slice of `updates` is added at
    its index along `axis`, so repeated indices accumulate. With `updates` shaped like `gather(result, indices, axis)`
    this is the gradient of `accel.gather` (an embedding's weight gradient).
    The runtime adds in index order, so results are deterministic.
    Slices whose index equals `skip_index` are not added (the gradient of a
    gather with `padding_idx`).

    ```mlir
    %dw = accel.scatter_add %g, %ids {axis = 0 : i64} : (tensor<2x16x768xf32>, tensor<2x16xi64>) -> tensor<50257x768xf32>
    ```
  }];
  let arguments = (ins Accel_NumericTensor:$updates, Accel_IndexTensor:$indices,
                       Optional<Accel_NumericTensor>:$init,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis,
                       OptionalAttr<I64Attr>:$skip_index);
  let results = (outs Accel_NumericTensor:$result);
  let hasVerifier = 1;
}

include "dialects/Accel/AccelTrainingOps.td"
include "dialects/Accel/AccelCollectiveOps.td"

#endif // ACCEL_DIALECT_ACCEL_OPS
