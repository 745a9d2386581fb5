//===- AccelOps.cpp - Shape rules, verifiers, folds and costs ------------===//
//
// Each op's shape rule lives in its inferReturnTypes (which is also what
// verifies a parsed or built op), its cost in getFlops.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace accel;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// NumPy broadcasting of two shapes; a dynamic dim broadcasts with 1 or
/// itself and otherwise yields the static dim.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else if (da == kDyn || db == kDyn)
      out[i] = da == kDyn ? db : da;
    else
      return failure();
  }
  return out;
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (d == kDyn)
      os << '?';
    else
      os << d;
  });
  os << ']';
  return s;
}

int64_t numel(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return 0;
  return shaped.getNumElements();
}

int64_t byteSize(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return 0;
  unsigned bits = shaped.getElementType().getIntOrFloatBitWidth();
  return shaped.getNumElements() * std::max<unsigned>(bits / 8, 1);
}

LogicalResult inferBroadcast(std::optional<Location> loc, ValueRange operands,
                             Type elementType, SmallVectorImpl<Type> &out) {
  SmallVector<int64_t> shape;
  for (Value v : operands) {
    auto r = broadcastShapes(shape, rankedType(v).getShape());
    if (failed(r))
      return emitOptionalError(loc, "operand shapes ", shapeString(shape),
                               " and ",
                               shapeString(rankedType(v).getShape()),
                               " do not broadcast");
    shape = *r;
  }
  out.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

LogicalResult sameElementType(std::optional<Location> loc, Type a, Type b) {
  Type ea = getElementTypeOrSelf(a), eb = getElementTypeOrSelf(b);
  if (ea != eb)
    return emitOptionalError(loc, "operand element types differ: ", ea,
                             " vs ", eb);
  return success();
}

/// Inference shared by ops whose result is their first operand's type.
LogicalResult inferSameAsOperand(Value operand, SmallVectorImpl<Type> &out) {
  out.push_back(operand.getType());
  return success();
}

LogicalResult checkAxis(std::optional<Location> loc, int64_t axis,
                        int64_t rank, StringRef what = "axis") {
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, what, " ", axis, " is out of range for rank ",
                             rank);
  return success();
}

/// The trailing dims of `operand` from `axis` must equal `param`'s shape.
LogicalResult checkNormParam(std::optional<Location> loc, Value operand,
                             Value param, int64_t axis, StringRef name) {
  if (!param)
    return success();
  ArrayRef<int64_t> shape = rankedType(operand).getShape();
  ArrayRef<int64_t> want = shape.drop_front(axis);
  if (rankedType(param).getShape() != want)
    return emitOptionalError(loc, name, " shape ",
                             shapeString(rankedType(param).getShape()),
                             " must equal the normalized dims ",
                             shapeString(want));
  // fp32 parameters of a bf16/fp16 activation (PyTorch's mixed-type norms).
  if (getElementTypeOrSelf(param.getType()).isF32() &&
      isLowPrecisionFloat(operand.getType()))
    return success();
  return sameElementType(loc, operand.getType(), param.getType());
}

} // namespace

int64_t accel::detail::defaultBytesAccessed(Operation *op) {
  int64_t bytes = 0;
  for (Type t : op->getOperandTypes())
    bytes += byteSize(t);
  for (Type t : op->getResultTypes())
    bytes += byteSize(t);
  return bytes;
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

std::optional<int64_t> accel::tensorBytes(ArrayRef<int64_t> shape,
                                          Type elementType) {
  int64_t bytes = std::max<int64_t>(
      1, llvm::divideCeil(elementType.getIntOrFloatBitWidth(), 8));
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes))
      return std::nullopt;
  return bytes;
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult ConstantOp::verify() {
  auto type = cast<ShapedType>(getType());
  std::optional<int64_t> bytes =
      tensorBytes(type.getShape(), type.getElementType());
  if (!bytes || *bytes > kMaxConstantBytes)
    return emitOpError("of type ")
           << type << " holds "
           << (bytes ? std::to_string(*bytes) : std::string("over 2^63"))
           << " bytes; a constant is stored whole in the executable and may "
              "hold at most 1 GiB";
  return success();
}
int64_t ConstantOp::getFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define ACCEL_BINARY_OP(Op)                                                    \
  LogicalResult Op::inferReturnTypes(MLIRContext *, std::optional<Location> loc, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &out) {             \
    if (failed(sameElementType(loc, adaptor.getLhs().getType(),                \
                               adaptor.getRhs().getType())))                   \
      return failure();                                                        \
    return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},           \
                          getElementTypeOrSelf(adaptor.getLhs().getType()),    \
                          out);                                                \
  }                                                                            \
  int64_t Op::getFlops() { return numel(getType()); }
ACCEL_BINARY_OP(AddOp)
ACCEL_BINARY_OP(SubOp)
ACCEL_BINARY_OP(MulOp)
ACCEL_BINARY_OP(DivOp)
ACCEL_BINARY_OP(PowOp)
ACCEL_BINARY_OP(MaxOp)
ACCEL_BINARY_OP(MinOp)
#undef ACCEL_BINARY_OP

namespace {
/// x * sigmoid(x) is silu(x): one op, one pass over memory, a known gradient.
struct FormSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [x, s] : {std::pair(op.getLhs(), op.getRhs()),
                        std::pair(op.getRhs(), op.getLhs())}) {
      auto sigmoid = s.getDefiningOp<SigmoidOp>();
      if (sigmoid && sigmoid.getOperand() == x && x.getType() == op.getType()) {
        rewriter.replaceOpWithNewOp<SiluOp>(op, x);
        return success();
      }
    }
    return failure();
  }
};

/// x * 1.0 is x (exactly, in IEEE arithmetic: NaN and -0 included) when the
/// one does not broadcast x to a larger shape. Gradients scaled by a loss
/// cotangent of 1 are the common case.
struct DropMulByOne : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [x, one] : {std::pair(op.getLhs(), op.getRhs()),
                          std::pair(op.getRhs(), op.getLhs())}) {
      if (x.getType() == op.getType() && matchScalarConstant(one) == 1.0) {
        rewriter.replaceOp(op, x);
        return success();
      }
    }
    return failure();
  }
};
} // namespace

void MulOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                        MLIRContext *ctx) {
  patterns.add<FormSilu, DropMulByOne>(ctx);
}

// FLOPs per element of the unary ops: 1 for arithmetic, more where the
// libm call or the formula costs several operations.
#define ACCEL_UNARY_OP(Op, flopsPerElement)                                    \
  LogicalResult Op::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &out) {             \
    return inferSameAsOperand(adaptor.getOperand(), out);                      \
  }                                                                            \
  int64_t Op::getFlops() { return flopsPerElement * numel(getType()); }
ACCEL_UNARY_OP(NegOp, 1)
ACCEL_UNARY_OP(AbsOp, 1)
ACCEL_UNARY_OP(ExpOp, 4)
ACCEL_UNARY_OP(LogOp, 4)
ACCEL_UNARY_OP(SqrtOp, 2)
ACCEL_UNARY_OP(RsqrtOp, 2)
ACCEL_UNARY_OP(ReciprocalOp, 1)
ACCEL_UNARY_OP(TanhOp, 4)
ACCEL_UNARY_OP(ErfOp, 4)
ACCEL_UNARY_OP(ReluOp, 1)
ACCEL_UNARY_OP(SigmoidOp, 4)
ACCEL_UNARY_OP(SiluOp, 5)
ACCEL_UNARY_OP(SinOp, 4)
ACCEL_UNARY_OP(CosOp, 4)
ACCEL_UNARY_OP(FloorOp, 1)
ACCEL_UNARY_OP(CeilOp, 1)
ACCEL_UNARY_OP(NotOp, 0)
ACCEL_UNARY_OP(GeluOp, 8)
ACCEL_UNARY_OP(DropoutOp, 2)
#undef ACCEL_UNARY_OP

LogicalResult CompareOp::inferReturnTypes(MLIRContext *ctx,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &out) {
  if (failed(sameElementType(loc, adaptor.getLhs().getType(),
                             adaptor.getRhs().getType())))
    return failure();
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},
                        IntegerType::get(ctx, 1), out);
}
int64_t CompareOp::getFlops() { return numel(getType()); }

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &out) {
  if (failed(sameElementType(loc, adaptor.getOnTrue().getType(),
                             adaptor.getOnFalse().getType())))
    return failure();
  return inferBroadcast(
      loc, {adaptor.getCondition(), adaptor.getOnTrue(), adaptor.getOnFalse()},
      getElementTypeOrSelf(adaptor.getOnTrue().getType()), out);
}
int64_t WhereOp::getFlops() { return numel(getType()); }

LogicalResult CastOp::verify() {
  if (getOperand().getType().getShape() != getType().getShape())
    return emitOpError("result shape ") << shapeString(getType().getShape())
                                        << " differs from the operand's "
                                        << shapeString(getOperand().getType().getShape());
  return success();
}
int64_t CastOp::getFlops() { return 0; }

/// A float widened and narrowed back is itself: bf16 or f16 through f32
/// or f64, f32 through f64 (every value of the narrow type is exact in the
/// wide one). The mixed-precision gradients make such pairs.
OpFoldResult CastOp::fold(FoldAdaptor) {
  auto inner = getOperand().getDefiningOp<CastOp>();
  if (!inner || inner.getOperand().getType() != getType())
    return {};
  auto narrow = dyn_cast<FloatType>(getType().getElementType());
  auto wide = dyn_cast<FloatType>(inner.getType().getElementType());
  if (!narrow || !wide ||
      !APFloat::isRepresentableBy(narrow.getFloatSemantics(),
                                  wide.getFloatSemantics()))
    return {};
  return inner.getOperand();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// A contraction's result: its operands' type, or f32 for bf16/fp16
/// operands (the sums kept in fp32).
static bool isContractionResult(TypeRange inferred, TypeRange actual) {
  if (inferred == actual)
    return true;
  if (inferred.size() != 1 || actual.size() != 1)
    return false;
  auto want = dyn_cast<RankedTensorType>(inferred[0]);
  auto have = dyn_cast<RankedTensorType>(actual[0]);
  return want && have && isLowPrecisionFloat(want) &&
         have == want.clone(Float32Type::get(want.getContext()));
}

bool MatmulOp::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {
  return isContractionResult(inferred, actual);
}

bool LinearOp::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {
  return isContractionResult(inferred, actual);
}

LogicalResult LinearOp::verify() {
  if (getBias() && getElementTypeOrSelf(getType()) !=
                       getElementTypeOrSelf(getInput().getType()))
    return emitOpError("with an f32 result of ")
           << getElementTypeOrSelf(getInput().getType())
           << " operands takes no bias (add it to the fp32 sum)";
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &out) {
  auto lhs = rankedType(adaptor.getLhs()), rhs = rankedType(adaptor.getRhs());
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOptionalError(loc, "operands must have rank >= 2, got ",
                             lhs.getRank(), " and ", rhs.getRank());
  if (failed(sameElementType(loc, lhs, rhs)))
    return failure();
  ArrayRef<int64_t> a = lhs.getShape(), b = rhs.getShape();
  int64_t m = a[a.size() - 2], ka = a.back();
  if (adaptor.getTransposeLhs())
    std::swap(m, ka);
  int64_t kb = b[b.size() - 2], n = b.back();
  if (adaptor.getTransposeRhs())
    std::swap(kb, n);
  if (ka != kb && ka != kDyn && kb != kDyn)
    return emitOptionalError(loc, "contracting dims differ: lhs has ", ka,
                             ", rhs has ", kb);
  auto batch = broadcastShapes(a.drop_back(2), b.drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, "batch dims ", shapeString(a.drop_back(2)),
                             " and ", shapeString(b.drop_back(2)),
                             " do not broadcast");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  out.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

int64_t MatmulOp::getFlops() {
  auto lhs = getLhs().getType();
  int64_t k = getTransposeLhs() ? lhs.getShape()[lhs.getRank() - 2]
                                : lhs.getShape().back();
  return 2 * numel(getType()) * k;
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &out) {
  auto input = rankedType(adaptor.getInput());
  auto weight = rankedType(adaptor.getWeight());
  if (input.getRank() < 1 || weight.getRank() != 2)
    return emitOptionalError(loc, "expects input rank >= 1 and a 2-D weight, "
                                  "got ranks ",
                             input.getRank(), " and ", weight.getRank());
  if (failed(sameElementType(loc, input, weight)))
    return failure();
  int64_t n = weight.getDimSize(0), k = weight.getDimSize(1);
  if (adaptor.getWeightInOut())
    std::swap(n, k);
  if (input.getShape().back() != k)
    return emitOptionalError(loc, "input features ", input.getShape().back(),
                             " do not match the weight's ", k);
  if (Value bias = adaptor.getBias()) {
    if (rankedType(bias).getShape() != ArrayRef<int64_t>{n})
      return emitOptionalError(loc, "bias shape ",
                               shapeString(rankedType(bias).getShape()),
                               " must be [", n, "]");
    if (failed(sameElementType(loc, bias.getType(), input)))
      return failure();
  }
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = n;
  out.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

namespace {
/// A weight read through a 2-D transpose is the same weight in the other
/// layout: flip weight_in_out instead of copying (tied LM heads export as
/// linear(x, transpose(wte))).
struct FoldWeightTranspose : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto transpose = op.getWeight().getDefiningOp<TransposeOp>();
    if (!transpose ||
        transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getWeightMutable().assign(transpose.getOperand());
      op.setWeightInOut(!op.getWeightInOut());
    });
    return success();
  }
};
} // namespace

void LinearOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                           MLIRContext *ctx) {
  patterns.add<FoldWeightTranspose>(ctx);
}

int64_t LinearOp::getFlops() {
  int64_t k = getInput().getType().getShape().back();
  return 2 * numel(getType()) * k + (getBias() ? numel(getType()) : 0);
}

/// The result types of attention over these operands (its result), or with
/// the result's cotangent `grad` of its gradient (typed as query, key and
/// value); or an error.
static LogicalResult inferAttention(std::optional<Location> loc, Value query,
                                    Value key, Value value, Value mask,
                                    Value grad, SmallVectorImpl<Type> &out) {
  auto q = rankedType(query), k = rankedType(key), v = rankedType(value);
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOptionalError(loc, "query, key and value must be rank 4 "
                                  "[batch, heads, seq, dim]");
  if (failed(sameElementType(loc, q, k)) || failed(sameElementType(loc, q, v)))
    return failure();
  ArrayRef<int64_t> qs = q.getShape(), ks = k.getShape(), vs = v.getShape();
  if (qs[0] != ks[0] || qs[1] != ks[1] || ks[0] != vs[0] || ks[1] != vs[1])
    return emitOptionalError(loc, "batch and head dims differ: query ",
                             shapeString(qs), ", key ", shapeString(ks),
                             ", value ", shapeString(vs));
  if (qs[3] != ks[3])
    return emitOptionalError(loc, "query dim ", qs[3], " differs from key dim ",
                             ks[3]);
  if (ks[2] != vs[2])
    return emitOptionalError(loc, "key length ", ks[2],
                             " differs from value length ", vs[2]);
  if (mask) {
    auto m = rankedType(mask);
    SmallVector<int64_t> scores = {qs[0], qs[1], qs[2], ks[2]};
    auto b = broadcastShapes(m.getShape(), scores);
    if (m.getRank() > 4 || failed(b) || *b != scores)
      return emitOptionalError(loc, "mask shape ", shapeString(m.getShape()),
                               " does not broadcast to the scores ",
                               shapeString(scores));
    // A float mask is added to the scores, which are fp32 for a bf16/fp16
    // query too.
    Type maskType = m.getElementType();
    if (!maskType.isInteger(1) && maskType != q.getElementType() &&
        !(maskType.isF32() && isLowPrecisionFloat(q)))
      return emitOptionalError(loc, "mask must be i1, f32 or the query's type");
  }
  auto result =
      RankedTensorType::get({qs[0], qs[1], qs[2], vs[3]}, q.getElementType());
  if (!grad) {
    out.push_back(result);
    return success();
  }
  if (grad.getType() != result)
    return emitOptionalError(loc,
                             "grad must be typed as the attention's result, ",
                             result, ", got ", grad.getType());
  out.append({q, k, v});
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &out) {
  return inferAttention(loc, adaptor.getQuery(), adaptor.getKey(),
                        adaptor.getValue(), adaptor.getMask(), Value(), out);
}

/// The scale attention over `query` applies: `scale`, or 1/sqrt(D).
static float attentionScale(std::optional<APFloat> scale, Value query) {
  if (scale)
    return scale->convertToFloat();
  return 1.0f / std::sqrt(float(rankedType(query).getShape().back()));
}

float AttentionOp::getScaleOrDefault() {
  return attentionScale(getScale(), getQuery());
}

int64_t AttentionOp::getFlops() {
  ArrayRef<int64_t> q = getQuery().getType().getShape();
  ArrayRef<int64_t> v = getValue().getType().getShape();
  int64_t scores = q[0] * q[1] * q[2] * v[2];
  return 2 * scores * q[3] + 2 * scores * v[3] + 5 * scores;
}

LogicalResult AttentionGradOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &out) {
  return inferAttention(loc, adaptor.getQuery(), adaptor.getKey(),
                        adaptor.getValue(), adaptor.getMask(),
                        adaptor.getGrad(), out);
}

float AttentionGradOp::getScaleOrDefault() {
  return attentionScale(getScale(), getQuery());
}

int64_t AttentionGradOp::getFlops() {
  // P again (Q K^T), dP = g V^T, dV = P^T g, dQ = dS K, dK = dS^T Q, and
  // the softmax and dS elementwise.
  ArrayRef<int64_t> q = rankedType(getQuery()).getShape();
  ArrayRef<int64_t> v = rankedType(getValue()).getShape();
  int64_t scores = q[0] * q[1] * q[2] * v[2];
  return 6 * scores * q[3] + 4 * scores * v[3] + 9 * scores;
}

std::optional<double> accel::matchScalarConstant(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool accel::isCausalMask(DenseElementsAttr mask, int64_t sq, int64_t sk) {
  auto type = cast<ShapedType>(mask.getType());
  int64_t rank = type.getRank();
  if (rank < 2 || type.getDimSize(rank - 2) != sq ||
      type.getDimSize(rank - 1) != sk)
    return false;
  auto keep = [&](int64_t flat) -> std::optional<bool> {
    if (type.getElementType().isInteger(1))
      return mask.getValues<bool>()[flat];
    double v = mask.getValues<APFloat>()[flat].convertToDouble();
    if (v == 0)
      return true;
    if (v <= -1e4)
      return false;
    return std::nullopt;
  };
  // Every [Sq, Sk] slice (one per batch and head) must be the pattern.
  for (int64_t flat = 0, n = type.getNumElements(); flat < n; ++flat) {
    int64_t i = (flat / sk) % sq, j = flat % sk;
    std::optional<bool> k = keep(flat);
    if (!k || *k != (j <= i + (sk - sq)))
      return false;
  }
  return true;
}

namespace {
/// Exporters spell causal attention with a constant mask; the op's `causal`
/// flag says the same without the tensor, and lets the kernel skip work.
struct FoldConstantCausalMask : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    DenseElementsAttr mask;
    if (!op.getMask() || !matchPattern(op.getMask(), m_Constant(&mask)))
      return failure();
    ArrayRef<int64_t> q = op.getQuery().getType().getShape();
    ArrayRef<int64_t> k = op.getKey().getType().getShape();
    if (!isCausalMask(mask, q[2], k[2]))
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getMaskMutable().clear();
      op.setCausal(true);
    });
    return success();
  }
};
} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                              MLIRContext *ctx) {
  patterns.add<FoldConstantCausalMask>(ctx);
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

#define ACCEL_SOFTMAX_OP(Op)                                                   \
  LogicalResult Op::inferReturnTypes(MLIRContext *, std::optional<Location> loc, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &out) {             \
    if (failed(checkAxis(loc, adaptor.getAxis(),                               \
                         rankedType(adaptor.getOperand()).getRank())))         \
      return failure();                                                        \
    return inferSameAsOperand(adaptor.getOperand(), out);                      \
  }                                                                            \
  int64_t Op::getFlops() { return 5 * numel(getType()); }
ACCEL_SOFTMAX_OP(SoftmaxOp)
ACCEL_SOFTMAX_OP(LogSoftmaxOp)
#undef ACCEL_SOFTMAX_OP

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &out) {
  if (failed(checkAxis(loc, adaptor.getAxis(),
                       rankedType(adaptor.getOperand()).getRank())))
    return failure();
  return inferSameAsOperand(adaptor.getOperand(), out);
}
int64_t CumSumOp::getFlops() { return numel(getType()); }

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &out) {
  Value x = adaptor.getOperand();
  if (failed(checkAxis(loc, adaptor.getAxis(), rankedType(x).getRank())) ||
      failed(checkNormParam(loc, x, adaptor.getScale(), adaptor.getAxis(),
                            "scale")) ||
      failed(checkNormParam(loc, x, adaptor.getBias(), adaptor.getAxis(),
                            "bias")))
    return failure();
  return inferSameAsOperand(x, out);
}
int64_t LayerNormOp::getFlops() { return 8 * numel(getType()); }

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &out) {
  Value x = adaptor.getOperand();
  if (failed(checkAxis(loc, adaptor.getAxis(), rankedType(x).getRank())) ||
      failed(checkNormParam(loc, x, adaptor.getScale(), adaptor.getAxis(),
                            "scale")))
    return failure();
  return inferSameAsOperand(x, out);
}
int64_t RmsNormOp::getFlops() { return 5 * numel(getType()); }

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

namespace {
LogicalResult inferReduce(std::optional<Location> loc, Value operand,
                          ArrayRef<int64_t> axes, bool keepDims,
                          SmallVectorImpl<Type> &out) {
  auto type = rankedType(operand);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(checkAxis(loc, axes[i], type.getRank())))
      return failure();
    if (i > 0 && axes[i] <= axes[i - 1])
      return emitOptionalError(loc, "axes must be sorted and unique");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(type.getDimSize(d));
    else if (keepDims)
      shape.push_back(1);
  }
  out.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}
} // namespace

#define ACCEL_REDUCE_OP(Op)                                                    \
  LogicalResult Op::inferReturnTypes(MLIRContext *, std::optional<Location> loc, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &out) {             \
    return inferReduce(loc, adaptor.getOperand(), adaptor.getAxes(),           \
                       adaptor.getKeepDims(), out);                            \
  }                                                                            \
  int64_t Op::getFlops() { return numel(getOperand().getType()); }
ACCEL_REDUCE_OP(ReduceSumOp)
ACCEL_REDUCE_OP(ReduceMeanOp)
ACCEL_REDUCE_OP(ReduceMaxOp)
ACCEL_REDUCE_OP(ReduceMinOp)
#undef ACCEL_REDUCE_OP

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getOperand().getType(), res = getType();
  if (in.getElementType() != res.getElementType())
    return emitOpError("element type changes from ")
           << in.getElementType() << " to " << res.getElementType();
  if (in.hasStaticShape() && res.hasStaticShape() &&
      in.getNumElements() != res.getNumElements())
    return emitOpError("element count changes from ")
           << in.getNumElements() << " to " << res.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  if (auto producer = getOperand().getDefiningOp<ReshapeOp>()) {
    getOperandMutable().assign(producer.getOperand());
    return getResult();
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getOperand()))
    return dense.reshape(getType());
  return {};
}
int64_t ReshapeOp::getFlops() { return 0; }

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &out) {
  auto type = rankedType(adaptor.getOperand());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (static_cast<int64_t>(perm.size()) != type.getRank())
    return emitOptionalError(loc, "permutation has ", perm.size(),
                             " entries for rank ", type.getRank());
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= type.getRank() || seen[p])
      return emitOptionalError(loc, "permutation ", shapeString(perm),
                               " is not a permutation of 0..",
                               type.getRank() - 1);
    seen[p] = true;
    shape.push_back(type.getDimSize(p));
  }
  out.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  // transpose(transpose(x, inner), outer) is one transpose of x.
  if (auto producer = getOperand().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t p : getPermutation())
      composed.push_back(producer.getPermutation()[p]);
    getOperandMutable().assign(producer.getOperand());
    setPermutation(composed);
    return getResult();
  }
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    if (static_cast<int64_t>(i) != p)
      return {};
  return getOperand();
}
int64_t TransposeOp::getFlops() { return 0; }

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &out) {
  auto type = rankedType(adaptor.getOperand());
  ArrayRef<int64_t> start = adaptor.getStart(), limit = adaptor.getLimit(),
                    stride = adaptor.getStride();
  int64_t rank = type.getRank();
  if (static_cast<int64_t>(start.size()) != rank ||
      static_cast<int64_t>(limit.size()) != rank ||
      static_cast<int64_t>(stride.size()) != rank)
    return emitOptionalError(loc, "start, limit and stride need ", rank,
                             " entries each");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = type.getDimSize(d);
    int64_t s = start[d], l = limit[d], st = stride[d];
    if (st == 0)
      return emitOptionalError(loc, "stride of dim ", d, " is zero");
    bool ok = st > 0 ? (0 <= s && s <= l && (dim == kDyn || l <= dim))
                     : (-1 <= l && l <= s && (dim == kDyn || s < dim));
    if (!ok)
      return emitOptionalError(loc, "dim ", d, " of size ", dim,
                               " cannot be sliced from ", s, " to ", l,
                               " by ", st);
    if (st == std::numeric_limits<int64_t>::min())
      return emitOptionalError(loc, "stride of dim ", d, " is out of range");
    int64_t span = st > 0 ? l - s : s - l;
    int64_t step = st > 0 ? st : -st;
    shape.push_back(span ? 1 + (span - 1) / step : 0);
  }
  out.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}
int64_t SliceOp::getFlops() { return 0; }

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &out) {
  ValueRange operands = adaptor.getOperands();
  if (operands.empty())
    return emitOptionalError(loc, "needs at least one operand");
  auto first = rankedType(operands.front());
  int64_t axis = adaptor.getAxis();
  if (failed(checkAxis(loc, axis, first.getRank())))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Value v : operands.drop_front()) {
    auto t = rankedType(v);
    if (failed(sameElementType(loc, first, t)))
      return failure();
    if (t.getRank() != first.getRank())
      return emitOptionalError(loc, "operand ranks differ");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == axis)
        continue;
      if (t.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, "operand shapes ",
                                 shapeString(first.getShape()), " and ",
                                 shapeString(t.getShape()),
                                 " differ outside axis ", axis);
    }
    shape[axis] = (shape[axis] == kDyn || t.getDimSize(axis) == kDyn)
                      ? kDyn
                      : shape[axis] + t.getDimSize(axis);
  }
  out.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}
int64_t ConcatOp::getFlops() { return 0; }

LogicalResult SplitOp::verify() {
  auto in = getOperand().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank "
                                << in.getRank();
  if (getNumResults() == 0)
    return emitOpError("needs at least one result");
  int64_t total = 0;
  for (Type t : getResultTypes()) {
    auto r = cast<RankedTensorType>(t);
    if (r.getElementType() != in.getElementType() ||
        r.getRank() != in.getRank())
      return emitOpError("result type ") << r << " does not match the operand "
                                         << in;
    for (int64_t d = 0; d < in.getRank(); ++d)
      if (d != axis && r.getDimSize(d) != in.getDimSize(d))
        return emitOpError("result ") << r << " differs from the operand "
                                      << in << " outside axis " << axis;
    total += r.getDimSize(axis);
  }
  if (total != in.getDimSize(axis))
    return emitOpError("pieces add up to ")
           << total << " along axis " << axis << ", operand has "
           << in.getDimSize(axis);
  return success();
}
int64_t SplitOp::getFlops() { return 0; }

LogicalResult BroadcastOp::verify() {
  auto in = getOperand().getType(), res = getType();
  if (in.getElementType() != res.getElementType())
    return emitOpError("element type changes from ")
           << in.getElementType() << " to " << res.getElementType();
  auto b = broadcastShapes(in.getShape(), res.getShape());
  if (in.getRank() > res.getRank() || failed(b) ||
      ArrayRef<int64_t>(*b) != res.getShape())
    return emitOpError("operand shape ")
           << shapeString(in.getShape()) << " does not broadcast to "
           << shapeString(res.getShape());
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getOperand().getType() == getType())
    return getOperand();
  if (auto dense = dyn_cast_or_null<SplatElementsAttr>(adaptor.getOperand()))
    return SplatElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  return {};
}
int64_t BroadcastOp::getFlops() { return 0; }

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &out) {
  auto type = rankedType(adaptor.getOperand());
  auto indices = rankedType(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (failed(checkAxis(loc, axis, type.getRank())))
    return failure();
  SmallVector<int64_t> shape(type.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, type.getShape().drop_front(axis + 1));
  out.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}
int64_t GatherOp::getFlops() { return 0; }

/// An index attribute (padding_idx, skip_index) must address a slice of the
/// axis, counted from either end like the indices themselves.
static LogicalResult verifyIndexAttr(Operation *op, StringRef name,
                                     std::optional<int64_t> index,
                                     int64_t axisLen) {
  if (!index || ShapedType::isDynamic(axisLen) ||
      (*index >= -axisLen && *index < axisLen))
    return success();
  return op->emitOpError() << name << " " << *index
                           << " is out of range for an axis of " << axisLen;
}

LogicalResult GatherOp::verify() {
  return verifyIndexAttr(*this, "padding_idx", getPaddingIdx(),
                         getOperand().getType().getDimSize(getAxis()));
}

LogicalResult ScatterAddOp::verify() {
  auto result = getType(), updates = getUpdates().getType();
  auto indices = getIndices().getType();
  int64_t axis = getAxis();
  if (axis >= result.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank "
                                << result.getRank();
  if (updates.getElementType() != result.getElementType())
    return emitOpError("updates and result element types differ");
  if (Value init = getInit(); init && init.getType() != result)
    return emitOpError("init ")
           << init.getType() << " must be the result type " << result;
  // updates = result.shape[:axis] + indices.shape + result.shape[axis+1:]
  SmallVector<int64_t> expected(result.getShape().take_front(axis));
  llvm::append_range(expected, indices.getShape());
  llvm::append_range(expected, result.getShape().drop_front(axis + 1));
  if (updates.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("updates shape ")
           << shapeString(updates.getShape()) << " must be "
           << shapeString(expected) << " for indices "
           << shapeString(indices.getShape()) << " along axis " << axis;
  return verifyIndexAttr(*this, "skip_index", getSkipIndex(),
                         result.getDimSize(axis));
}
int64_t ScatterAddOp::getFlops() { return numel(getUpdates().getType()); }
Value ScatterAddOp::getTiedOperand(unsigned) { return getInit(); }

#define GET_OP_CLASSES
#include "dialects/Accel/AccelOps.cpp.inc"
