//===- OnnxOpConverters.cpp - One converter per ONNX op family -----------===//
//
// Each converter maps an ONNX op (opset 13 and later semantics; the importer
// accepts models of opset 13 to the newest onnx knows) to accel ops. Inputs
// that ONNX takes as tensors but that must be static here (shapes, axes,
// starts) are read as constants, which the importer's folding makes them
// given static input shapes; when one is not, the node is reported.
//
//===----------------------------------------------------------------------===//
#include "lib/Importers/ONNX/GraphImporter.h"

#include "mlir/IR/Matchers.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace accel;
using namespace accel::onnx;

const std::map<std::string, GraphImporter::Converter> &
GraphImporter::converters() {
  static const std::map<std::string, Converter> table = {
      {"Add", &GraphImporter::convertBinary},
      {"Sub", &GraphImporter::convertBinary},
      {"Mul", &GraphImporter::convertBinary},
      {"Div", &GraphImporter::convertBinary},
      {"Pow", &GraphImporter::convertBinary},
      {"Max", &GraphImporter::convertVariadic},
      {"Min", &GraphImporter::convertVariadic},
      {"Sum", &GraphImporter::convertVariadic},
      {"Mean", &GraphImporter::convertVariadic},
      {"Neg", &GraphImporter::convertUnary},
      {"Abs", &GraphImporter::convertUnary},
      {"Exp", &GraphImporter::convertUnary},
      {"Log", &GraphImporter::convertUnary},
      {"Sqrt", &GraphImporter::convertUnary},
      {"Reciprocal", &GraphImporter::convertUnary},
      {"Tanh", &GraphImporter::convertUnary},
      {"Erf", &GraphImporter::convertUnary},
      {"Relu", &GraphImporter::convertUnary},
      {"Sigmoid", &GraphImporter::convertUnary},
      {"Sin", &GraphImporter::convertUnary},
      {"Cos", &GraphImporter::convertUnary},
      {"Floor", &GraphImporter::convertUnary},
      {"Ceil", &GraphImporter::convertUnary},
      {"Not", &GraphImporter::convertUnary},
      {"Equal", &GraphImporter::convertCompare},
      {"Less", &GraphImporter::convertCompare},
      {"LessOrEqual", &GraphImporter::convertCompare},
      {"Greater", &GraphImporter::convertCompare},
      {"GreaterOrEqual", &GraphImporter::convertCompare},
      {"IsNaN", &GraphImporter::convertIsNanOrInf},
      {"IsInf", &GraphImporter::convertIsNanOrInf},
      {"Where", &GraphImporter::convertWhere},
      {"And", &GraphImporter::convertLogical},
      {"Or", &GraphImporter::convertLogical},
      {"Xor", &GraphImporter::convertLogical},
      {"Cast", &GraphImporter::convertCast},
      {"CastLike", &GraphImporter::convertCast},
      {"Identity", &GraphImporter::convertIdentity},
      {"Dropout", &GraphImporter::convertIdentity},
      {"Gelu", &GraphImporter::convertGelu},
      {"MatMul", &GraphImporter::convertMatMul},
      {"Gemm", &GraphImporter::convertGemm},
      {"Softmax", &GraphImporter::convertSoftmax},
      {"CumSum", &GraphImporter::convertCumSum},
      {"Attention", &GraphImporter::convertAttention},
      {"RotaryEmbedding", &GraphImporter::convertRotaryEmbedding},
      {"LogSoftmax", &GraphImporter::convertSoftmax},
      {"LayerNormalization", &GraphImporter::convertLayerNorm},
      {"RMSNormalization", &GraphImporter::convertRmsNorm},
      {"ReduceSum", &GraphImporter::convertReduce},
      {"ReduceMean", &GraphImporter::convertReduce},
      {"ReduceMax", &GraphImporter::convertReduce},
      {"ReduceMin", &GraphImporter::convertReduce},
      {"Shape", &GraphImporter::convertShape},
      {"Size", &GraphImporter::convertSize},
      {"Reshape", &GraphImporter::convertReshape},
      {"Flatten", &GraphImporter::convertFlatten},
      {"Squeeze", &GraphImporter::convertSqueeze},
      {"Unsqueeze", &GraphImporter::convertUnsqueeze},
      {"Transpose", &GraphImporter::convertTranspose},
      {"Slice", &GraphImporter::convertSlice},
      {"Concat", &GraphImporter::convertConcat},
      {"Split", &GraphImporter::convertSplit},
      {"Expand", &GraphImporter::convertExpand},
      {"Gather", &GraphImporter::convertGather},
      {"GatherND", &GraphImporter::convertGatherIndexed},
      {"GatherElements", &GraphImporter::convertGatherIndexed},
      {"Constant", &GraphImporter::convertConstant},
      {"ConstantOfShape", &GraphImporter::convertConstantOfShape},
      {"Range", &GraphImporter::convertRange},
      {"Trilu", &GraphImporter::convertTrilu},
      {"SplitToSequence", &GraphImporter::convertSplitToSequence},
      {"SequenceAt", &GraphImporter::convertSequenceAt},
  };
  return table;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::convertBinary(const Node &node) {
  static const std::map<std::string, StringRef> ops = {
      {"Add", AddOp::getOperationName()},
      {"Sub", SubOp::getOperationName()},
      {"Mul", MulOp::getOperationName()},
      {"Div", DivOp::getOperationName()},
      {"Pow", PowOp::getOperationName()}};
  if (node.inputs.size() != 2)
    return fail(node, "expects 2 inputs");
  Value lhs = input(node, 0), rhs = input(node, 1);
  // ONNX Pow may raise to an exponent of another type.
  if (node.opType == "Pow") {
    auto cast = castTo(rhs, typeOf(lhs).getElementType());
    if (failed(cast))
      return failure();
    rhs = *cast;
  }
  auto r = create(ops.at(node.opType), {lhs, rhs}, {});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertVariadic(const Node &node) {
  if (node.inputs.empty())
    return fail(node, "expects at least one input");
  StringRef op = node.opType == "Max"   ? MaxOp::getOperationName()
                 : node.opType == "Min" ? MinOp::getOperationName()
                                        : AddOp::getOperationName();
  Value acc = input(node, 0);
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    auto r = create(op, {acc, input(node, i)}, {});
    if (failed(r))
      return failure();
    acc = *r;
  }
  if (node.opType == "Mean" && node.inputs.size() > 1) {
    Type et = typeOf(acc).getElementType();
    if (!isa<FloatType>(et))
      return fail(node, "Mean needs floating-point inputs");
    auto n = DenseElementsAttr::get(
        RankedTensorType::get({}, et),
        FloatAttr::get(et, double(node.inputs.size())).getValue());
    auto r = create<DivOp>({acc, constant(n)});
    if (failed(r))
      return failure();
    acc = *r;
  }
  return setOutput(node, 0, acc);
}

LogicalResult GraphImporter::convertUnary(const Node &node) {
  static const std::map<std::string, StringRef> ops = {
      {"Neg", NegOp::getOperationName()},
      {"Abs", AbsOp::getOperationName()},
      {"Exp", ExpOp::getOperationName()},
      {"Log", LogOp::getOperationName()},
      {"Sqrt", SqrtOp::getOperationName()},
      {"Reciprocal", ReciprocalOp::getOperationName()},
      {"Tanh", TanhOp::getOperationName()},
      {"Erf", ErfOp::getOperationName()},
      {"Relu", ReluOp::getOperationName()},
      {"Sigmoid", SigmoidOp::getOperationName()},
      {"Sin", SinOp::getOperationName()},
      {"Cos", CosOp::getOperationName()},
      {"Floor", FloorOp::getOperationName()},
      {"Ceil", CeilOp::getOperationName()},
      {"Not", NotOp::getOperationName()}};
  Value x = input(node, 0);
  if (!x)
    return fail(node, "expects an input");
  // Relu on integers (seen in node tests) is max(x, 0).
  if (node.opType == "Relu" && !isa<FloatType>(typeOf(x).getElementType())) {
    auto zero = DenseElementsAttr::get(
        RankedTensorType::get({}, typeOf(x).getElementType()),
        b.getIntegerAttr(typeOf(x).getElementType(), 0).getValue());
    auto r = create<MaxOp>({x, constant(zero)});
    return failed(r) ? failure() : setOutput(node, 0, *r);
  }
  auto r = create(ops.at(node.opType), {x}, {});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertCompare(const Node &node) {
  static const std::map<std::string, CompareDirection> dirs = {
      {"Equal", CompareDirection::EQ},
      {"Less", CompareDirection::LT},
      {"LessOrEqual", CompareDirection::LE},
      {"Greater", CompareDirection::GT},
      {"GreaterOrEqual", CompareDirection::GE}};
  Value lhs = input(node, 0), rhs = input(node, 1);
  if (!lhs || !rhs)
    return fail(node, "expects 2 inputs");
  if (typeOf(lhs).getElementType().isInteger(1))
    return fail(node, "comparing booleans is not supported");
  auto r = create<CompareOp>(
      {lhs, rhs}, {named("direction", CompareDirectionAttr::get(
                                          ctx, dirs.at(node.opType)))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertIsNanOrInf(const Node &node) {
  // Exact as comparisons: NaN is the one value unequal to itself, and an
  // infinity equals only itself.
  Value x = input(node, 0);
  auto type = typeOf(x);
  auto et = dyn_cast<FloatType>(type.getElementType());
  if (!et)
    return fail(node, "expects a floating-point input");
  auto direction = [&](CompareDirection d) {
    return named("direction", CompareDirectionAttr::get(ctx, d));
  };
  FailureOr<Value> r;
  if (node.opType == "IsNaN") {
    r = create<CompareOp>({x, x}, {direction(CompareDirection::NE)});
    return failed(r) ? failure() : setOutput(node, 0, *r);
  }
  bool positive = attrInt(node, "detect_positive", 1) != 0;
  bool negative = attrInt(node, "detect_negative", 1) != 0;
  auto scalar = [&](double v) {
    return constant(DenseElementsAttr::get(RankedTensorType::get({}, et),
                                           FloatAttr::get(et, v).getValue()));
  };
  double inf = std::numeric_limits<double>::infinity();
  if (positive && negative) {
    FailureOr<Value> magnitude = create<AbsOp>({x});
    if (failed(magnitude))
      return failure();
    r = create<CompareOp>({*magnitude, scalar(inf)},
                          {direction(CompareDirection::EQ)});
  } else if (positive || negative) {
    r = create<CompareOp>({x, scalar(positive ? inf : -inf)},
                          {direction(CompareDirection::EQ)});
  } else { // detects nothing
    r = broadcastTo(constant(DenseElementsAttr::get(
                        RankedTensorType::get({}, b.getI1Type()), false)),
                    type.getShape());
  }
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertWhere(const Node &node) {
  auto r = create<WhereOp>({input(node, 0), input(node, 1), input(node, 2)});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertLogical(const Node &node) {
  // Boolean logic as selects, which keep broadcasting and fold on constants:
  // a and b = a ? b : false, a or b = a ? true : b, a xor b = a ? !b : b.
  Value a = input(node, 0), bv = input(node, 1);
  if (!a || !bv || !typeOf(a).getElementType().isInteger(1) ||
      !typeOf(bv).getElementType().isInteger(1))
    return fail(node, "expects two bool inputs");
  auto scalar = [&](bool v) {
    auto type = RankedTensorType::get({}, b.getI1Type());
    return constant(DenseElementsAttr::get(type, v));
  };
  FailureOr<Value> r;
  if (node.opType == "And")
    r = create<WhereOp>({a, bv, scalar(false)});
  else if (node.opType == "Or")
    r = create<WhereOp>({a, scalar(true), bv});
  else if (auto notB = create<NotOp>({bv}); succeeded(notB))
    r = create<WhereOp>({a, *notB, bv});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertCast(const Node &node) {
  Type to = node.opType == "CastLike"
                ? typeOf(input(node, 1)).getElementType()
                : elementType(static_cast<int32_t>(attrInt(node, "to", 0)));
  if (!to)
    return fail(node, "casts to unsupported element type " +
                          Twine(elemTypeName(attrInt(node, "to", 0))));
  auto r = castTo(input(node, 0), to);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertIdentity(const Node &node) {
  // Dropout in an exported inference graph is the identity; its mask output
  // has no producer here.
  if (node.opType == "Dropout" && node.outputs.size() > 1 &&
      !node.outputs[1].empty())
    return fail(node, "the dropout mask output is not supported");
  if (node.opType == "Dropout" && hasInput(node, 2)) {
    DenseElementsAttr training;
    if (!matchPattern(input(node, 2), m_Constant(&training)) ||
        training.getValues<bool>()[0])
      return fail(node, "training-mode dropout is not supported on import");
  }
  return setOutput(node, 0, input(node, 0));
}

LogicalResult GraphImporter::convertGelu(const Node &node) {
  const onnx::Attribute *a = node.attr("approximate");
  std::string approx = a ? a->s : "none";
  if (approx != "none" && approx != "tanh")
    return fail(node, "unknown approximation '" + approx + "'");
  auto r = create<GeluOp>(
      {input(node, 0)},
      {named("approximate",
             GeluApproximationAttr::get(ctx, approx == "tanh"
                                                 ? GeluApproximation::Tanh
                                                 : GeluApproximation::None))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::convertMatMul(const Node &node) {
  Value a = input(node, 0), bv = input(node, 1);
  if (!a || !bv)
    return fail(node, "expects 2 inputs");
  // NumPy semantics for rank-1 operands: promote, multiply, drop the dim.
  int64_t ra = typeOf(a).getRank(), rb = typeOf(bv).getRank();
  if (ra == 0 || rb == 0)
    return fail(node, "operands must have rank >= 1");
  if (ra == 1) {
    auto r = reshape(a, {1, typeOf(a).getDimSize(0)});
    if (failed(r))
      return failure();
    a = *r;
  }
  if (rb == 1) {
    auto r = reshape(bv, {typeOf(bv).getDimSize(0), 1});
    if (failed(r))
      return failure();
    bv = *r;
  }
  auto m = create<MatmulOp>({a, bv});
  if (failed(m))
    return failure();
  Value result = *m;
  if (ra == 1 || rb == 1) {
    SmallVector<int64_t> shape(typeOf(result).getShape());
    if (rb == 1)
      shape.pop_back();
    if (ra == 1)
      shape.erase(shape.end() - (rb == 1 ? 1 : 2));
    auto r = reshape(result, shape);
    if (failed(r))
      return failure();
    result = *r;
  }
  return setOutput(node, 0, result);
}

LogicalResult GraphImporter::convertGemm(const Node &node) {
  Value a = input(node, 0), w = input(node, 1), c = input(node, 2);
  float alpha = attrFloat(node, "alpha", 1.0f),
        beta = attrFloat(node, "beta", 1.0f);
  bool transA = attrInt(node, "transA", 0), transB = attrInt(node, "transB", 0);
  if (!a || !w || typeOf(a).getRank() != 2 || typeOf(w).getRank() != 2)
    return fail(node, "expects 2-D A and B");
  auto scaled = [&](Value v, float s) -> FailureOr<Value> {
    if (s == 1.0f)
      return v;
    Type et = typeOf(v).getElementType();
    auto k = DenseElementsAttr::get(RankedTensorType::get({}, et),
                                    FloatAttr::get(et, s).getValue());
    return create<MulOp>({v, constant(k)});
  };
  // The common case, a torch.nn.Linear or Conv1D layer, is one linear op.
  int64_t n = typeOf(w).getDimSize(transB ? 0 : 1);
  bool biasIsRow = c && typeOf(c).getNumElements() == n &&
                   (typeOf(c).getRank() == 1 ||
                    (typeOf(c).getRank() == 2 && typeOf(c).getDimSize(0) == 1));
  if (!transA && alpha == 1.0f && (!c || (beta == 1.0f && biasIsRow))) {
    SmallVector<Value> operands = {a, w};
    if (c) {
      auto bias = reshape(c, {n});
      if (failed(bias))
        return failure();
      operands.push_back(*bias);
    }
    SmallVector<NamedAttribute> attrs;
    if (!transB)
      attrs.push_back(named("weight_in_out", b.getUnitAttr()));
    auto r = create<LinearOp>(operands, attrs);
    return failed(r) ? failure() : setOutput(node, 0, *r);
  }
  SmallVector<NamedAttribute> attrs;
  if (transA)
    attrs.push_back(named("transpose_lhs", b.getUnitAttr()));
  if (transB)
    attrs.push_back(named("transpose_rhs", b.getUnitAttr()));
  auto m = create<MatmulOp>({a, w}, attrs);
  if (failed(m))
    return failure();
  auto r = scaled(*m, alpha);
  if (failed(r))
    return failure();
  if (c && beta != 0.0f) {
    auto sc = scaled(c, beta);
    if (failed(sc))
      return failure();
    r = create<AddOp>({*r, *sc});
    if (failed(r))
      return failure();
  }
  return setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertSoftmax(const Node &node) {
  Value x = input(node, 0);
  if (opset() < 13)
    return fail(node, "opset < 13 softmax (flattening semantics) is not "
                      "supported");
  int64_t axis = normalizeAxis(attrInt(node, "axis", -1), typeOf(x).getRank());
  StringRef op = node.opType == "Softmax" ? SoftmaxOp::getOperationName()
                                          : LogSoftmaxOp::getOperationName();
  auto r = create(op, {x}, {named("axis", b.getI64IntegerAttr(axis))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

/// ONNX Attention (opsets 23 and 24; the torch exporter writes it for
/// scaled_dot_product_attention from opset 23 on) as accel.attention, where
/// the semantics are the same: no KV cache, softcap or extra outputs, and
/// causal only with equal query and key lengths (ONNX aligns the causal
/// mask top-left, accel bottom-right; they agree there). Fully masked rows
/// give zeros in both. 3-D inputs are split into heads; grouped-query K/V
/// heads are repeated as ONNX does (each serves consecutive query heads).
LogicalResult GraphImporter::convertAttention(const Node &node) {
  for (size_t i = 4; i < node.inputs.size(); ++i)
    if (!node.inputs[i].empty())
      return fail(node, i < 6 ? "a KV cache (past_key/past_value) is not "
                                "supported"
                              : "nonpad_kv_seqlen is not supported");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      return fail(node, "the present_key/present_value/qk_matmul_output "
                        "outputs are not supported");
  if (attrFloat(node, "softcap", 0.0f) != 0.0f)
    return fail(node, "softcap is not supported");
  if (attrInt(node, "left_window_size", -1) != -1 ||
      attrInt(node, "right_window_size", -1) != -1)
    return fail(node, "sliding-window attention is not supported");
  Value q = input(node, 0), k = input(node, 1), v = input(node, 2);
  int64_t rank = typeOf(q).getRank();
  if (rank != 3 && rank != 4)
    return fail(node, "query must be rank 3 or 4");
  if (typeOf(k).getRank() != rank || typeOf(v).getRank() != rank)
    return fail(node, "query, key and value ranks differ");

  // [B, S, H*D] -> [B, H, S, D] and back.
  auto toHeads = [&](Value x, const char *attr) -> FailureOr<Value> {
    int64_t heads = attrInt(node, attr, 0);
    ArrayRef<int64_t> s = typeOf(x).getShape();
    if (heads <= 0 || s[2] % heads)
      return fail(node, Twine("3-D inputs need ") + attr +
                            " dividing the hidden size " + Twine(s[2]));
    auto split = reshape(x, {s[0], s[1], heads, s[2] / heads});
    if (failed(split))
      return failure();
    return create<TransposeOp>(
        {*split}, {named("permutation", b.getDenseI64ArrayAttr({0, 2, 1, 3}))});
  };
  if (rank == 3) {
    auto q4 = toHeads(q, "q_num_heads"), k4 = toHeads(k, "kv_num_heads"),
         v4 = toHeads(v, "kv_num_heads");
    if (failed(q4) || failed(k4) || failed(v4))
      return failure();
    q = *q4, k = *k4, v = *v4;
  }
  ArrayRef<int64_t> qs = typeOf(q).getShape(), ks = typeOf(k).getShape();
  if (ks[1] != typeOf(v).getShape()[1] || ks[1] == 0 || qs[1] % ks[1])
    return fail(node, "query heads " + Twine(qs[1]) +
                          " are not a multiple of the key/value heads " +
                          Twine(ks[1]));
  if (int64_t group = qs[1] / ks[1]; group > 1) {
    auto repeat = [&](Value x) -> FailureOr<Value> {
      ArrayRef<int64_t> s = typeOf(x).getShape();
      auto r = reshape(x, {s[0], s[1], 1, s[2], s[3]});
      if (failed(r))
        return failure();
      r = broadcastTo(*r, {s[0], s[1], group, s[2], s[3]});
      if (failed(r))
        return failure();
      return reshape(*r, {s[0], s[1] * group, s[2], s[3]});
    };
    auto kr = repeat(k), vr = repeat(v);
    if (failed(kr) || failed(vr))
      return failure();
    k = *kr, v = *vr;
  }
  bool causal = attrInt(node, "is_causal", 0);
  if (causal && qs[2] != ks[2])
    return fail(node, "is_causal with query length " + Twine(qs[2]) +
                          " and key length " + Twine(ks[2]) +
                          " is not supported");
  SmallVector<Value> operands{q, k, v};
  if (hasInput(node, 3)) {
    Value mask = input(node, 3);
    if (typeOf(mask).getShape().empty() ||
        typeOf(mask).getShape().back() != ks[2])
      return fail(node, "an attn_mask shorter than the key length is not "
                        "supported");
    operands.push_back(mask);
  }
  SmallVector<NamedAttribute> attrs;
  if (causal)
    attrs.push_back(named("causal", b.getUnitAttr()));
  if (const onnx::Attribute *a = node.attr("scale"))
    attrs.push_back(named("scale", b.getF32FloatAttr(a->f)));
  auto r = create<AttentionOp>(operands, attrs);
  if (failed(r))
    return failure();
  Value y = *r;
  if (rank == 3) {
    ArrayRef<int64_t> s = typeOf(y).getShape();
    auto t = create<TransposeOp>(
        {y}, {named("permutation", b.getDenseI64ArrayAttr({0, 2, 1, 3}))});
    if (failed(t))
      return failure();
    auto flat = reshape(*t, {s[0], s[2], s[1] * s[3]});
    if (failed(flat))
      return failure();
    y = *flat;
  }
  return setOutput(node, 0, y);
}

/// ONNX RotaryEmbedding (opset 23) spelled out in accel ops, as the
/// exporters spell Hugging Face's rotate_half: with x1, x2 the two halves of
/// the first rotary_embedding_dim channels (or the even and odd channels
/// when interleaved), out = [x1 cos - x2 sin, x1 sin + x2 cos, the rest].
/// cos/sin are [B, S, R/2], or a [positions, R/2] table read at
/// position_ids. Input [B, H, S, D], or [B, S, H*D] with num_heads.
LogicalResult GraphImporter::convertRotaryEmbedding(const Node &node) {
  Value x = input(node, 0), cos = input(node, 1), sin = input(node, 2);
  auto type = typeOf(x);
  ArrayRef<int64_t> s = type.getShape();
  int64_t rank = type.getRank();
  if (rank != 3 && rank != 4)
    return fail(node, "input must be rank 3 or 4");
  int64_t batch = s[0], seq = rank == 4 ? s[2] : s[1];
  // Work in [B, S, H, D] for 3-D input, [B, H, S, D] for 4-D; cos and sin
  // broadcast as [B, S, 1, R/2] or [B, 1, S, R/2].
  if (rank == 3) {
    int64_t heads = attrInt(node, "num_heads", 0);
    if (heads <= 0 || s[2] % heads)
      return fail(node, "3-D input needs num_heads dividing the hidden size " +
                            Twine(s[2]));
    auto split = reshape(x, {batch, seq, heads, s[2] / heads});
    if (failed(split))
      return failure();
    x = *split;
  }
  int64_t dim = typeOf(x).getShape()[3];
  int64_t rot = attrInt(node, "rotary_embedding_dim", 0);
  rot = rot == 0 ? dim : rot;
  if (rot <= 0 || rot > dim || rot % 2)
    return fail(node, "rotary_embedding_dim " + Twine(rot) +
                          " must be even and at most the head size " +
                          Twine(dim));
  int64_t half = rot / 2;
  for (Value *table : {&cos, &sin}) {
    if (hasInput(node, 3)) {
      auto g = create<GatherOp>({*table, input(node, 3)},
                                {named("axis", b.getI64IntegerAttr(0))});
      if (failed(g))
        return failure();
      *table = *g;
    }
    if (typeOf(*table).getShape() != ArrayRef<int64_t>{batch, seq, half}) {
      std::string got;
      llvm::raw_string_ostream os(got);
      llvm::interleaveComma(typeOf(*table).getShape(), os);
      return fail(node, "cos/sin caches must give [" + Twine(batch) + ", " +
                            Twine(seq) + ", " + Twine(half) + "], got [" + got +
                            "]");
    }
    SmallVector<int64_t> shape =
        rank == 4 ? SmallVector<int64_t>{batch, 1, seq, half}
                  : SmallVector<int64_t>{batch, seq, 1, half};
    auto r = reshape(*table, shape);
    if (failed(r))
      return failure();
    *table = *r;
  }
  auto lastDim = [&](Value v, int64_t start, int64_t limit,
                     int64_t stride) -> FailureOr<Value> {
    ArrayRef<int64_t> vs = typeOf(v).getShape();
    SmallVector<int64_t> st(4, 0), li(vs), sd(4, 1);
    st[3] = start, li[3] = limit, sd[3] = stride;
    return create<SliceOp>({v}, {named("start", b.getDenseI64ArrayAttr(st)),
                                 named("limit", b.getDenseI64ArrayAttr(li)),
                                 named("stride", b.getDenseI64ArrayAttr(sd))});
  };
  bool interleaved = attrInt(node, "interleaved", 0);
  auto x1 = interleaved ? lastDim(x, 0, rot, 2) : lastDim(x, 0, half, 1);
  auto x2 = interleaved ? lastDim(x, 1, rot, 2) : lastDim(x, half, rot, 1);
  if (failed(x1) || failed(x2))
    return failure();
  auto mul = [&](Value a, Value c) { return create<MulOp>({a, c}); };
  auto x1c = mul(*x1, cos), x2s = mul(*x2, sin), x1s = mul(*x1, sin),
       x2c = mul(*x2, cos);
  if (failed(x1c) || failed(x2s) || failed(x1s) || failed(x2c))
    return failure();
  auto real = create<SubOp>({*x1c, *x2s}), imag = create<AddOp>({*x1s, *x2c});
  if (failed(real) || failed(imag))
    return failure();
  auto axis3 = named("axis", b.getI64IntegerAttr(3));
  FailureOr<Value> rotated;
  if (interleaved) {
    // [.., R/2] pairs -> [.., R/2, 2] -> [.., R]: real, imag alternate.
    SmallVector<int64_t> pairs(typeOf(*real).getShape());
    pairs.push_back(1);
    auto re = reshape(*real, pairs), im = reshape(*imag, pairs);
    if (failed(re) || failed(im))
      return failure();
    auto both =
        create<ConcatOp>({*re, *im}, {named("axis", b.getI64IntegerAttr(4))});
    if (failed(both))
      return failure();
    SmallVector<int64_t> flat(typeOf(*real).getShape());
    flat[3] = rot;
    rotated = reshape(*both, flat);
  } else {
    rotated = create<ConcatOp>({*real, *imag}, {axis3});
  }
  if (failed(rotated))
    return failure();
  Value out = *rotated;
  if (rot < dim) {
    auto rest = lastDim(x, rot, dim, 1);
    if (failed(rest))
      return failure();
    auto whole = create<ConcatOp>({out, *rest}, {axis3});
    if (failed(whole))
      return failure();
    out = *whole;
  }
  if (rank == 3) {
    auto r = reshape(out, s);
    if (failed(r))
      return failure();
    out = *r;
  }
  return setOutput(node, 0, out);
}

LogicalResult GraphImporter::convertLayerNorm(const Node &node) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      return fail(node, "the Mean and InvStdDev outputs are not supported");
  Value x = input(node, 0), scale = input(node, 1), bias = input(node, 2);
  int64_t rank = typeOf(x).getRank();
  int64_t axis = normalizeAxis(attrInt(node, "axis", -1), rank);
  if (axis < 0 || axis >= rank)
    return fail(node, "axis out of range");
  // ONNX lets scale and bias broadcast; accel wants the normalized shape.
  ArrayRef<int64_t> normShape = typeOf(x).getShape().drop_front(axis);
  for (Value *p : {&scale, &bias}) {
    if (!*p)
      continue;
    auto r = broadcastTo(*p, normShape);
    if (failed(r))
      return failure();
    *p = *r;
  }
  SmallVector<Value> operands = {x};
  if (scale)
    operands.push_back(scale);
  if (bias)
    operands.push_back(bias);
  auto r = create<LayerNormOp>(
      operands,
      {named("axis", b.getI64IntegerAttr(axis)),
       named("epsilon", b.getF32FloatAttr(attrFloat(node, "epsilon", 1e-5f))),
       named("operandSegmentSizes",
             b.getDenseI32ArrayAttr({1, scale ? 1 : 0, bias ? 1 : 0}))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertRmsNorm(const Node &node) {
  Value x = input(node, 0), scale = input(node, 1);
  int64_t rank = typeOf(x).getRank();
  int64_t axis = normalizeAxis(attrInt(node, "axis", -1), rank);
  if (axis < 0 || axis >= rank)
    return fail(node, "axis out of range");
  SmallVector<Value> operands = {x};
  if (scale) {
    auto r = broadcastTo(scale, typeOf(x).getShape().drop_front(axis));
    if (failed(r))
      return failure();
    operands.push_back(*r);
  }
  auto r = create<RmsNormOp>(
      operands,
      {named("axis", b.getI64IntegerAttr(axis)),
       named("epsilon", b.getF32FloatAttr(attrFloat(node, "epsilon", 1e-5f)))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertCumSum(const Node &node) {
  Value x = input(node, 0);
  int64_t rank = typeOf(x).getRank();
  auto given = intsInput(node, 1);
  if (failed(given))
    return failure();
  if (given->size() != 1)
    return fail(node, "axis must be one value");
  int64_t axis = normalizeAxis((*given)[0], rank);
  if (axis < 0 || axis >= rank)
    return fail(node, "axis " + Twine((*given)[0]) +
                          " is out of range for rank " + Twine(rank));
  SmallVector<NamedAttribute> attrs{named("axis", b.getI64IntegerAttr(axis))};
  if (attrInt(node, "exclusive", 0))
    attrs.push_back(named("exclusive", b.getUnitAttr()));
  if (attrInt(node, "reverse", 0))
    attrs.push_back(named("reverse", b.getUnitAttr()));
  auto r = create<CumSumOp>({x}, attrs);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertReduce(const Node &node) {
  Value x = input(node, 0);
  int64_t rank = typeOf(x).getRank();
  // Axes moved from an attribute to an input: ReduceSum at opset 13, the
  // others at 18.
  SmallVector<int64_t> axes;
  if (const onnx::Attribute *a = node.attr("axes")) {
    axes.assign(a->ints.begin(), a->ints.end());
  } else if (hasInput(node, 1)) {
    auto given = intsInput(node, 1);
    if (failed(given))
      return failure();
    axes = *given;
  }
  if (axes.empty()) {
    if (attrInt(node, "noop_with_empty_axes", 0))
      return setOutput(node, 0, x);
    axes.resize(rank);
    std::iota(axes.begin(), axes.end(), 0);
  }
  for (int64_t &a : axes) {
    a = normalizeAxis(a, rank);
    if (a < 0 || a >= rank)
      return fail(node, "axis out of range for rank " + Twine(rank));
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  static const std::map<std::string, StringRef> ops = {
      {"ReduceSum", ReduceSumOp::getOperationName()},
      {"ReduceMean", ReduceMeanOp::getOperationName()},
      {"ReduceMax", ReduceMaxOp::getOperationName()},
      {"ReduceMin", ReduceMinOp::getOperationName()}};
  SmallVector<NamedAttribute> attrs = {
      named("axes", b.getDenseI64ArrayAttr(axes))};
  if (attrInt(node, "keepdims", 1))
    attrs.push_back(named("keep_dims", b.getUnitAttr()));
  auto r = create(ops.at(node.opType), {x}, attrs);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

//===----------------------------------------------------------------------===//
// Shapes and data movement
//===----------------------------------------------------------------------===//

namespace {
DenseElementsAttr i64Tensor(Builder &b, ArrayRef<int64_t> values,
                            bool scalar = false) {
  auto type = RankedTensorType::get(
      scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{int64_t(values.size())},
      b.getI64Type());
  return DenseElementsAttr::get(type, values);
}
} // namespace

LogicalResult GraphImporter::convertShape(const Node &node) {
  auto type = typeOf(input(node, 0));
  int64_t rank = type.getRank();
  int64_t start = attrInt(node, "start", 0), end = attrInt(node, "end", rank);
  start = std::clamp<int64_t>(normalizeAxis(start, rank), 0, rank);
  end = std::clamp<int64_t>(normalizeAxis(end, rank), 0, rank);
  SmallVector<int64_t> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(type.getDimSize(d));
  return setOutput(node, 0, constant(i64Tensor(b, dims)));
}

LogicalResult GraphImporter::convertSize(const Node &node) {
  int64_t n = typeOf(input(node, 0)).getNumElements();
  return setOutput(node, 0, constant(i64Tensor(b, {n}, /*scalar=*/true)));
}

LogicalResult GraphImporter::convertReshape(const Node &node) {
  Value x = input(node, 0);
  auto shape = intsInput(node, 1);
  if (failed(shape))
    return failure();
  auto in = typeOf(x);
  bool allowZero = attrInt(node, "allowzero", 0);
  int64_t known = 1, inferAt = -1;
  SmallVector<int64_t> out(*shape);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= in.getRank())
        return fail(node, "shape entry 0 copies a dim the input lacks");
      out[i] = in.getDimSize(i);
    }
    if (out[i] == -1) {
      if (inferAt >= 0)
        return fail(node, "more than one -1 in the shape");
      inferAt = i;
      continue;
    }
    if (out[i] < 0)
      return fail(node, "negative dim " + Twine(out[i]) + " in the shape");
    known *= out[i];
  }
  if (inferAt >= 0) {
    if (known == 0 || in.getNumElements() % known)
      return fail(node, "cannot infer the -1 dim");
    out[inferAt] = in.getNumElements() / known;
  }
  auto r = reshape(x, out);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertFlatten(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  int64_t axis = normalizeAxis(attrInt(node, "axis", 1), type.getRank());
  if (axis < 0 || axis > type.getRank())
    return fail(node, "axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < type.getRank(); ++d)
    (d < axis ? outer : inner) *= type.getDimSize(d);
  auto r = reshape(x, {outer, inner});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertSqueeze(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  SmallVector<int64_t> axes;
  if (const onnx::Attribute *a = node.attr("axes"))
    axes.assign(a->ints.begin(), a->ints.end());
  else if (hasInput(node, 1)) {
    auto given = intsInput(node, 1);
    if (failed(given))
      return failure();
    axes = *given;
  } else {
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.getDimSize(d) == 1)
        axes.push_back(d);
  }
  for (int64_t &a : axes) {
    a = normalizeAxis(a, type.getRank());
    if (a < 0 || a >= type.getRank() || type.getDimSize(a) != 1)
      return fail(node, "cannot squeeze axis " + Twine(a));
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      shape.push_back(type.getDimSize(d));
  auto r = reshape(x, shape);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertUnsqueeze(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  SmallVector<int64_t> axes;
  if (const onnx::Attribute *a = node.attr("axes"))
    axes.assign(a->ints.begin(), a->ints.end());
  else {
    auto given = intsInput(node, 1);
    if (failed(given))
      return failure();
    axes = *given;
  }
  int64_t outRank = type.getRank() + axes.size();
  for (int64_t &a : axes) {
    a = normalizeAxis(a, outRank);
    if (a < 0 || a >= outRank)
      return fail(node, "axis out of range");
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return fail(node, "repeated axes");
  SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t d = 0; d < outRank; ++d)
    shape.push_back(llvm::is_contained(axes, d) ? 1 : type.getDimSize(next++));
  auto r = reshape(x, shape);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertTranspose(const Node &node) {
  Value x = input(node, 0);
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm;
  if (const onnx::Attribute *a = node.attr("perm"))
    perm.assign(a->ints.begin(), a->ints.end());
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  auto r = create<TransposeOp>(
      {x}, {named("permutation", b.getDenseI64ArrayAttr(perm))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertSlice(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  int64_t rank = type.getRank();
  auto starts = intsInput(node, 1), ends = intsInput(node, 2);
  if (failed(starts) || failed(ends))
    return failure();
  SmallVector<int64_t> axes, steps;
  if (hasInput(node, 3)) {
    auto a = intsInput(node, 3);
    if (failed(a))
      return failure();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (hasInput(node, 4)) {
    auto s = intsInput(node, 4);
    if (failed(s))
      return failure();
    steps = *s;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (starts->size() != ends->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return fail(node, "starts, ends, axes and steps differ in length");
  SmallVector<int64_t> start(rank, 0), limit(type.getShape()), stride(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t axis = normalizeAxis(axes[i], rank);
    if (axis < 0 || axis >= rank)
      return fail(node, "axis " + Twine(axes[i]) + " out of range");
    int64_t dim = type.getDimSize(axis), st = steps[i];
    if (st == 0)
      return fail(node, "step is zero");
    // Clamp as ONNX specifies: [0, dim] for positive steps, [-1, dim-1] for
    // negative ones.
    int64_t s = (*starts)[i], e = (*ends)[i];
    if (s < 0)
      s += dim;
    if (e < 0 && e > std::numeric_limits<int64_t>::min() / 2)
      e += dim;
    // A step longer than the dim takes one element at most: clamp it so the
    // size arithmetic cannot overflow.
    st = std::clamp<int64_t>(st, -std::max<int64_t>(dim, 1),
                             std::max<int64_t>(dim, 1));
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      e = std::max(e, s);
    } else if (dim == 0) {
      s = 0;
      e = 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      e = std::min(e, s);
    }
    start[axis] = s;
    limit[axis] = e;
    stride[axis] = st;
  }
  auto r =
      create<SliceOp>({x}, {named("start", b.getDenseI64ArrayAttr(start)),
                            named("limit", b.getDenseI64ArrayAttr(limit)),
                            named("stride", b.getDenseI64ArrayAttr(stride))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertConcat(const Node &node) {
  Value first = input(node, 0);
  int64_t axis =
      normalizeAxis(attrInt(node, "axis", 0), typeOf(first).getRank());
  if (axis < 0 || axis >= typeOf(first).getRank())
    return fail(node, "axis out of range");
  // Pieces of length 0 along the axis add nothing (exporters emit them).
  SmallVector<Value> operands;
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (Value v = input(node, i);
        v && typeOf(v).getRank() == typeOf(first).getRank() &&
        typeOf(v).getDimSize(axis) != 0)
      operands.push_back(v);
  if (operands.empty())
    operands.push_back(first);
  if (operands.size() == 1)
    return setOutput(node, 0, operands[0]);
  auto r =
      create<ConcatOp>(operands, {named("axis", b.getI64IntegerAttr(axis))});
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertSplit(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  int64_t axis = normalizeAxis(attrInt(node, "axis", 0), type.getRank());
  if (axis < 0 || axis >= type.getRank())
    return fail(node, "axis out of range");
  int64_t dim = type.getDimSize(axis);
  SmallVector<int64_t> sizes;
  if (const onnx::Attribute *a = node.attr("split"))
    sizes.assign(a->ints.begin(), a->ints.end());
  else if (hasInput(node, 1)) {
    auto given = intsInput(node, 1);
    if (failed(given))
      return failure();
    sizes = *given;
  } else {
    // Even pieces; with num_outputs (opset 18) the last may be smaller.
    int64_t n = attrInt(node, "num_outputs", node.outputs.size());
    if (n <= 0)
      return fail(node, "needs at least one output");
    int64_t piece = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(piece, dim - i * piece)));
  }
  if (sizes.size() != node.outputs.size())
    return fail(node, Twine(sizes.size()) + " pieces for " +
                          Twine(node.outputs.size()) + " outputs");
  auto pieces = splitInto(node, x, axis, sizes);
  if (failed(pieces))
    return failure();
  for (size_t i = 0; i < pieces->size(); ++i)
    (void)setOutput(node, i, (*pieces)[i]);
  return success();
}

FailureOr<SmallVector<Value>>
GraphImporter::splitInto(const Node &node, Value x, int64_t axis,
                         ArrayRef<int64_t> sizes) {
  auto type = typeOf(x);
  int64_t total = 0;
  SmallVector<Type> types;
  for (int64_t size : sizes) {
    if (size < 0) {
      (void)fail(node, "negative split size");
      return failure();
    }
    total += size;
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = size;
    types.push_back(RankedTensorType::get(shape, type.getElementType()));
  }
  if (total != type.getDimSize(axis)) {
    (void)fail(node, "split sizes add up to " + Twine(total) + ", the dim is " +
                         Twine(type.getDimSize(axis)));
    return failure();
  }
  return createMulti(SplitOp::getOperationName(), {x},
                     {named("axis", b.getI64IntegerAttr(axis))}, types);
}

LogicalResult GraphImporter::convertExpand(const Node &node) {
  Value x = input(node, 0);
  auto shape = intsInput(node, 1);
  if (failed(shape))
    return failure();
  if (llvm::any_of(*shape, [](int64_t d) { return d < 0; }))
    return fail(node, "negative dim in the shape");
  // Expand broadcasts both ways: a 1 in `shape` keeps the input's dim.
  SmallVector<int64_t> in(typeOf(x).getShape());
  size_t rank = std::max(in.size(), shape->size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - in.size() ? 1 : in[i - (rank - in.size())];
    int64_t s =
        i < rank - shape->size() ? 1 : (*shape)[i - (rank - shape->size())];
    if (a != s && a != 1 && s != 1)
      return fail(node,
                  "input dim " + Twine(a) + " cannot expand to " + Twine(s));
    out[i] = a == 1 ? s : a;
  }
  auto r = broadcastTo(x, out);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

/// What the torch exporter recorded of `torch.nn.Embedding`'s training-only
/// arguments on a Gather node (its `pkg.torch.onnx.fx_node` text, e.g.
/// `aten.embedding.default](args = (%p_wte, %input_ids, 0), ...)`): the
/// padding index, whose row gets no gradient, if any. The ONNX Gather itself
/// cannot say; without the record the row trains, as with any other exporter.
static FailureOr<std::optional<int64_t>>
embeddingPaddingIndex(const Node &node,
                      llvm::function_ref<LogicalResult(const Twine &)> fail) {
  auto it = node.metadata.find("pkg.torch.onnx.fx_node");
  if (it == node.metadata.end() ||
      !StringRef(it->second).contains("aten.embedding.default]"))
    return std::optional<int64_t>();
  // args = (weight, indices[, padding_idx[, scale_grad_by_freq[, sparse]]])
  // or the same names as kwargs.
  llvm::Regex args(R"(args = \(([^)]*)\), kwargs = \{([^}]*)\})");
  SmallVector<StringRef, 3> m;
  if (!args.match(it->second, &m))
    return fail("cannot read the embedding's arguments from the exporter's "
                "record: " +
                it->second);
  SmallVector<StringRef> positional, keywords;
  m[1].split(positional, ',', -1, false);
  m[2].split(keywords, ',', -1, false);
  auto argument = [&](size_t position, StringRef name) -> StringRef {
    if (position < positional.size())
      return positional[position].trim();
    for (StringRef kw : keywords) {
      auto [key, value] = kw.split(':');
      if (key.trim() == name)
        return value.trim();
    }
    return {};
  };
  if (argument(3, "scale_grad_by_freq") == "True")
    return fail("embedding with scale_grad_by_freq=True is not supported");
  StringRef padding = argument(2, "padding_idx");
  int64_t index;
  if (padding.empty() || padding == "None")
    return std::optional<int64_t>();
  if (padding.getAsInteger(10, index))
    return fail("cannot read the embedding's padding_idx '" + padding + "'");
  return index == -1 ? std::optional<int64_t>() : std::optional(index);
}

LogicalResult GraphImporter::convertGather(const Node &node) {
  Value x = input(node, 0), idx = input(node, 1);
  int64_t axis = normalizeAxis(attrInt(node, "axis", 0), typeOf(x).getRank());
  SmallVector<NamedAttribute> attrs{named("axis", b.getI64IntegerAttr(axis))};
  auto padding = embeddingPaddingIndex(
      node, [&](const Twine &message) { return fail(node, message); });
  if (failed(padding))
    return failure();
  if (*padding)
    attrs.push_back(named("padding_idx", b.getI64IntegerAttr(**padding)));
  auto r = create<GatherOp>({x, idx}, attrs);
  return failed(r) ? failure() : setOutput(node, 0, *r);
}

LogicalResult GraphImporter::convertGatherIndexed(const Node &node) {
  // With constant indices (exporters use them to pick mask positions), both
  // ops are a gather from the flattened data at precomputed flat indices.
  Value x = input(node, 0);
  auto type = typeOf(x);
  // GatherElements from a constant of one value is that value in the
  // indices' shape, whatever the indices are at run time (RoBERTa's
  // token-type ids: zeros gathered at the position ids).
  DenseElementsAttr splat;
  if (node.opType == "GatherElements" && matchPattern(x, m_Constant(&splat)) &&
      splat.isSplat()) {
    auto shape = typeOf(input(node, 1)).getShape();
    return setOutput(node, 0,
                     constant(splat.resizeSplat(
                         RankedTensorType::get(shape, type.getElementType()))));
  }
  FailureOr<SmallVector<int64_t>> idx = intsInput(node, 1);
  if (failed(idx))
    return failure();
  auto idxType = typeOf(input(node, 1));
  ArrayRef<int64_t> dims = type.getShape();
  int64_t rank = type.getRank();
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * dims[d + 1];
  auto normalize = [&](int64_t i, int64_t dim) -> std::optional<int64_t> {
    if (i < -dim || i >= dim)
      return std::nullopt;
    return i < 0 ? i + dim : i;
  };
  SmallVector<int64_t> flat, indexShape; // gather's indices
  Value data;
  if (node.opType == "GatherND") {
    if (attrInt(node, "batch_dims", 0) != 0)
      return fail(node, "batch_dims other than 0 is not supported");
    if (idxType.getRank() < 1)
      return fail(node, "indices must have rank >= 1");
    int64_t k = idxType.getShape().back();
    if (k < 1 || k > rank)
      return fail(node, "index tuples of length " + Twine(k) +
                            " for data of rank " + Twine(rank));
    int64_t rows = 1;
    for (int64_t d = 0; d < k; ++d)
      rows *= dims[d];
    for (size_t t = 0; t + k <= idx->size(); t += k) {
      int64_t row = 0;
      for (int64_t d = 0; d < k; ++d) {
        std::optional<int64_t> i = normalize((*idx)[t + d], dims[d]);
        if (!i)
          return fail(node, "index " + Twine((*idx)[t + d]) +
                                " is out of range for dim " + Twine(dims[d]));
        row = row * dims[d] + *i;
      }
      flat.push_back(row);
    }
    SmallVector<int64_t> rowsShape = {rows};
    llvm::append_range(rowsShape, dims.drop_front(k));
    auto r = reshape(x, rowsShape);
    if (failed(r))
      return failure();
    data = *r;
    indexShape.assign(idxType.getShape().begin(), idxType.getShape().end() - 1);
  } else {
    int64_t axis = normalizeAxis(attrInt(node, "axis", 0), rank);
    if (axis < 0 || axis >= rank || idxType.getRank() != rank)
      return fail(node, "axis or index rank out of range");
    ArrayRef<int64_t> ishape = idxType.getShape();
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && ishape[d] > dims[d])
        return fail(node, "indices dim " + Twine(d) + " (" + Twine(ishape[d]) +
                              ") exceeds the data's (" + Twine(dims[d]) + ")");
    SmallVector<int64_t> pos(rank, 0);
    for (int64_t e = 0, n = idx->size(); e < n; ++e) {
      std::optional<int64_t> i = normalize((*idx)[e], dims[axis]);
      if (!i)
        return fail(node, "index " + Twine((*idx)[e]) +
                              " is out of range for dim " + Twine(dims[axis]));
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d)
        off += (d == axis ? *i : pos[d]) * strides[d];
      flat.push_back(off);
      for (int64_t d = rank - 1; d >= 0 && ++pos[d] == ishape[d]; --d)
        pos[d] = 0;
    }
    auto r = reshape(x, {type.getNumElements()});
    if (failed(r))
      return failure();
    data = *r;
    indexShape.assign(ishape.begin(), ishape.end());
  }
  auto indices = constant(
      DenseElementsAttr::get(RankedTensorType::get(indexShape, b.getI64Type()),
                             ArrayRef<int64_t>(flat)));
  auto g = create<GatherOp>({data, indices},
                            {named("axis", b.getI64IntegerAttr(0))});
  return failed(g) ? failure() : setOutput(node, 0, *g);
}

LogicalResult GraphImporter::convertConstant(const Node &node) {
  if (node.attributes.size() != 1)
    return fail(node, "expects exactly one value attribute");
  const onnx::Attribute &a = node.attributes.front();
  DenseElementsAttr value;
  if (a.name == "value") {
    auto t = tensorAttr(a.t);
    if (failed(t))
      return fail(node, "tensor of unsupported type " +
                            Twine(elemTypeName(a.t.elemType)));
    value = *t;
  } else if (a.name == "value_float" || a.name == "value_floats") {
    SmallVector<float> v =
        a.name == "value_float"
            ? SmallVector<float>{a.f}
            : SmallVector<float>(a.floats.begin(), a.floats.end());
    auto type = RankedTensorType::get(
        a.name == "value_float" ? ArrayRef<int64_t>{}
                                : ArrayRef<int64_t>{int64_t(v.size())},
        b.getF32Type());
    value = DenseElementsAttr::get(type, ArrayRef<float>(v));
  } else if (a.name == "value_int") {
    value = i64Tensor(b, {a.i}, /*scalar=*/true);
  } else if (a.name == "value_ints") {
    value = i64Tensor(b, a.ints);
  } else {
    return fail(node, "constant attribute '" + a.name + "' is not supported");
  }
  return setOutput(node, 0, constant(value));
}

LogicalResult GraphImporter::convertConstantOfShape(const Node &node) {
  auto shape = intsInput(node, 0);
  if (failed(shape))
    return failure();
  if (llvm::any_of(*shape, [](int64_t d) { return d < 0; }))
    return fail(node, "negative dim in the shape");
  Type et = b.getF32Type();
  mlir::Attribute fill = b.getF32FloatAttr(0);
  if (const onnx::Attribute *a = node.attr("value")) {
    auto t = tensorAttr(a->t);
    if (failed(t) || t->getNumElements() != 1)
      return fail(node,
                  "value must be a one-element tensor of a supported type");
    et = t->getElementType();
    fill = t->getValues<mlir::Attribute>()[0];
  }
  if (failed(checkConstantSize(node, *shape, et)))
    return failure();
  auto type = RankedTensorType::get(*shape, et);
  return setOutput(node, 0, constant(SplatElementsAttr::get(type, fill)));
}

LogicalResult GraphImporter::checkConstantSize(const Node &node,
                                               ArrayRef<int64_t> shape,
                                               Type elementType) {
  std::optional<int64_t> bytes = tensorBytes(shape, elementType);
  if (bytes && *bytes <= kMaxConstantBytes)
    return success();
  std::string dims;
  for (int64_t d : shape)
    dims += (dims.empty() ? "" : "x") + std::to_string(d);
  return fail(node, "its result (" + (dims.empty() ? "scalar" : dims) +
                        ") would be a constant of " +
                        (bytes ? std::to_string(*bytes) : "over 2^63") +
                        " bytes; accel folds constants of at most 1 GiB");
}

LogicalResult GraphImporter::convertRange(const Node &node) {
  FailureOr<DenseElementsAttr> start = constantInput(node, 0),
                               limit = constantInput(node, 1),
                               delta = constantInput(node, 2);
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  Type et = start->getElementType();
  // The types ONNX's Range takes (a bool or 8-bit Range has no meaning).
  if (!et.isF32() && !et.isF64() && !et.isInteger(16) && !et.isInteger(32) &&
      !et.isInteger(64))
    return fail(node, "element type must be float, double, int16, int32 or "
                      "int64");
  auto scalar = [](DenseElementsAttr a) -> double {
    if (isa<FloatType>(a.getElementType()))
      return (*a.getValues<APFloat>().begin()).convertToDouble();
    return double((*a.getValues<APInt>().begin()).getSExtValue());
  };
  double s = scalar(*start), l = scalar(*limit), d = scalar(*delta);
  if (d == 0)
    return fail(node, "delta is zero");
  double count = std::ceil((l - s) / d);
  if (!std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d) ||
      !(count < 9.2e18)) // NaN and counts past int64 included
    return fail(node, "start, limit and delta give no finite length");
  int64_t n = std::max<int64_t>(0, int64_t(count));
  if (failed(checkConstantSize(node, {n}, et)))
    return failure();
  // Integer elements are computed in int64: every one must fit.
  if (isa<IntegerType>(et) &&
      std::abs(s) + double(n) * std::abs(d) >= 9.0e18)
    return fail(node, "start, limit and delta overflow int64");
  // Element by element into the raw buffer (a vector of APFloat or APInt
  // would take 4 to 8 times the constant's size).
  auto type = RankedTensorType::get({n}, et);
  unsigned bits = et.getIntOrFloatBitWidth();
  std::vector<char> raw(size_t(n) * (bits / 8));
  for (int64_t i = 0; i < n; ++i) {
    APInt value;
    if (auto ft = dyn_cast<FloatType>(et)) {
      APFloat f(s + double(i) * d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      value = f.bitcastToAPInt();
    } else {
      value = APInt(bits, int64_t(s) + i * int64_t(d), /*isSigned=*/true);
    }
    std::memcpy(raw.data() + i * (bits / 8), value.getRawData(), bits / 8);
  }
  return setOutput(node, 0,
                   constant(DenseElementsAttr::getFromRawBuffer(type, raw)));
}

LogicalResult GraphImporter::convertTrilu(const Node &node) {
  // Exporters build causal masks with Trilu on constants; evaluate it here.
  FailureOr<DenseElementsAttr> x = constantInput(node, 0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  if (hasInput(node, 1)) {
    auto kv = intsInput(node, 1);
    if (failed(kv) || kv->size() != 1)
      return fail(node, "k must be one integer");
    k = (*kv)[0];
  }
  bool upper = attrInt(node, "upper", 1);
  auto type = cast<RankedTensorType>(x->getType());
  if (type.getRank() < 2)
    return fail(node, "input must have rank >= 2");
  int64_t rows = type.getDimSize(type.getRank() - 2),
          cols = type.getDimSize(type.getRank() - 1);
  SmallVector<mlir::Attribute> v(x->getValues<mlir::Attribute>());
  mlir::Attribute zero = b.getZeroAttr(type.getElementType());
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t r = (i / cols) % rows, c = i % cols;
    bool keep = upper ? c - r >= k : c - r <= k;
    if (!keep)
      v[i] = zero;
  }
  return setOutput(node, 0, constant(DenseElementsAttr::get(type, v)));
}

LogicalResult GraphImporter::convertSplitToSequence(const Node &node) {
  Value x = input(node, 0);
  auto type = typeOf(x);
  int64_t axis = normalizeAxis(attrInt(node, "axis", 0), type.getRank());
  if (axis < 0 || axis >= type.getRank())
    return fail(node, "axis out of range");
  int64_t dim = type.getDimSize(axis);
  SmallVector<int64_t> sizes;
  bool squeeze = false;
  if (hasInput(node, 1)) {
    auto split = intsInput(node, 1);
    if (failed(split))
      return failure();
    auto splitType = typeOf(input(node, 1));
    if (splitType.getRank() == 0) { // pieces of one size, the last shorter
      int64_t piece = (*split)[0];
      if (piece <= 0)
        return fail(node, "split size must be positive");
      for (int64_t at = 0; at < dim; at += piece)
        sizes.push_back(std::min(piece, dim - at));
    } else {
      sizes.assign(split->begin(), split->end());
    }
  } else {
    sizes.assign(dim, 1);
    squeeze = !attrInt(node, "keepdims", 1);
  }
  auto pieces = splitInto(node, x, axis, sizes);
  if (failed(pieces))
    return failure();
  SmallVector<Value> seq;
  for (Value piece : *pieces) {
    if (squeeze) {
      SmallVector<int64_t> shape(typeOf(piece).getShape());
      shape.erase(shape.begin() + axis);
      auto r = reshape(piece, shape);
      if (failed(r))
        return failure();
      piece = *r;
    }
    seq.push_back(piece);
  }
  sequences[node.outputs[0]] = seq;
  return success();
}

LogicalResult GraphImporter::convertSequenceAt(const Node &node) {
  auto seq = sequences.find(node.inputs[0]);
  if (seq == sequences.end())
    return fail(node, "input 0 is not a sequence this importer built");
  auto index = intsInput(node, 1);
  if (failed(index))
    return failure();
  int64_t n = seq->second.size(), i = (*index)[0];
  if (index->size() != 1 || i < -n || i >= n)
    return fail(node, "index out of range for a sequence of " + Twine(n));
  return setOutput(node, 0, seq->second[i < 0 ? i + n : i]);
}
