//===- AccelGradients.cpp - Reverse-mode rules of the accel ops ----------===//
//
// Each op's DifferentiableOpInterface::buildGradient: given the cotangent of
// its result, build the cotangents of its operands out of accel ops (so the
// gradient IR is itself differentiable and runs on the same kernels).
// Broadcasting operands receive their cotangent summed back to their shape.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"

#include "mlir/IR/Builders.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace accel;

namespace {

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// A scalar constant of element type `et`.
Value scalarOf(OpBuilder &b, Location loc, Type et, double value) {
  auto type = RankedTensorType::get({}, et);
  return ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, FloatAttr::get(et, value).getValue()));
}

/// A scalar constant of `v`'s element type.
Value scalar(OpBuilder &b, Location loc, Value like, double value) {
  return scalarOf(b, loc, tensorType(like).getElementType(), value);
}

/// Sums a cotangent of a broadcast result back to `target`'s shape: over the
/// leading dims `target` lacks and the dims where it has 1.
Value sumToShape(OpBuilder &b, Location loc, Value g, RankedTensorType target) {
  auto type = tensorType(g);
  if (type.getShape() == target.getShape())
    return g;
  int64_t lead = type.getRank() - target.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d < lead || (target.getDimSize(d - lead) == 1 && type.getDimSize(d) != 1))
      axes.push_back(d);
  Value summed = g;
  if (!axes.empty())
    summed = ReduceSumOp::create(b, loc, g, b.getDenseI64ArrayAttr(axes),
                                 /*keep_dims=*/false);
  if (tensorType(summed).getShape() != target.getShape())
    summed = ReshapeOp::create(b, loc, target, summed);
  return summed;
}

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return MulOp::create(b, loc, x, y);
}

/// `v` with element type `element` (itself when it has it).
Value castElement(OpBuilder &b, Location loc, Value v, Type element) {
  if (!v || tensorType(v).getElementType() == element)
    return v;
  return CastOp::create(b, loc, tensorType(v).clone(element), v);
}

/// Spreads the cotangent of a reduction over the reduced axes again.
Value unreduce(OpBuilder &b, Location loc, Value g, RankedTensorType operand,
               ArrayRef<int64_t> axes, bool keepDims) {
  if (!keepDims) {
    SmallVector<int64_t> kept(operand.getShape());
    for (int64_t a : axes)
      kept[a] = 1;
    g = ReshapeOp::create(b, loc, operand.clone(kept), g);
  }
  return BroadcastOp::create(b, loc, operand, g);
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise
//
// Ops are created one statement at a time: C++ leaves the order of sibling
// arguments unspecified, and the IR must not depend on the compiler.
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  Value g = grads[0];
  out.push_back(sumToShape(b, getLoc(), g, getLhs().getType()));
  out.push_back(sumToShape(b, getLoc(), g, getRhs().getType()));
  return success();
}

LogicalResult SubOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  Value g = grads[0];
  out.push_back(sumToShape(b, getLoc(), g, getLhs().getType()));
  out.push_back(sumToShape(b, getLoc(), NegOp::create(b, getLoc(), g),
                           getRhs().getType()));
  return success();
}

LogicalResult MulOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  Value g = grads[0];
  Location loc = getLoc();
  out.push_back(sumToShape(b, loc, mul(b, loc, g, getRhs()), getLhs().getType()));
  out.push_back(sumToShape(b, loc, mul(b, loc, g, getLhs()), getRhs().getType()));
  return success();
}

LogicalResult DivOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  // d(a/b) = g/b da - g (a/b)/b db
  Value g = grads[0];
  Location loc = getLoc();
  Value gOverB = DivOp::create(b, loc, g, getRhs());
  out.push_back(sumToShape(b, loc, gOverB, getLhs().getType()));
  Value db = NegOp::create(b, loc, mul(b, loc, gOverB, getResult()));
  out.push_back(sumToShape(b, loc, db, getRhs().getType()));
  return success();
}

LogicalResult NegOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  out.push_back(NegOp::create(b, getLoc(), grads[0]));
  return success();
}

LogicalResult ExpOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  out.push_back(mul(b, getLoc(), grads[0], getResult()));
  return success();
}

LogicalResult LogOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  out.push_back(DivOp::create(b, getLoc(), grads[0], getOperand()));
  return success();
}

LogicalResult SqrtOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  // 0.5 / sqrt(x)
  Location loc = getLoc();
  Value half = mul(b, loc, grads[0], scalar(b, loc, getResult(), 0.5));
  out.push_back(DivOp::create(b, loc, half, getResult()));
  return success();
}

LogicalResult RsqrtOp::buildGradient(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  // -0.5 y^3
  Location loc = getLoc();
  Value y = getResult();
  Value y2 = mul(b, loc, y, y);
  Value y3 = mul(b, loc, y2, y);
  Value gy3 = mul(b, loc, grads[0], y3);
  Value minusHalf = scalar(b, loc, y, -0.5);
  out.push_back(mul(b, loc, gy3, minusHalf));
  return success();
}

LogicalResult ReciprocalOp::buildGradient(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  // -y^2
  Location loc = getLoc();
  Value y = getResult();
  out.push_back(NegOp::create(b, loc, mul(b, loc, grads[0], mul(b, loc, y, y))));
  return success();
}

LogicalResult TanhOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  // 1 - y^2
  Location loc = getLoc();
  Value y = getResult();
  Value one = scalar(b, loc, y, 1.0);
  Value y2 = mul(b, loc, y, y);
  Value oneMinus = SubOp::create(b, loc, one, y2);
  out.push_back(mul(b, loc, grads[0], oneMinus));
  return success();
}

LogicalResult ReluOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  // The subgradient at 0 is 0, as in PyTorch.
  Location loc = getLoc();
  Value zero = scalar(b, loc, getOperand(), 0.0);
  Value positive = CompareOp::create(b, loc, getOperand(), zero,
                                     CompareDirection::GT);
  out.push_back(WhereOp::create(b, loc, positive, grads[0], zero));
  return success();
}

LogicalResult SigmoidOp::buildGradient(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  // y (1 - y)
  Location loc = getLoc();
  Value y = getResult();
  Value oneMinus = SubOp::create(b, loc, scalar(b, loc, y, 1.0), y);
  out.push_back(mul(b, loc, grads[0], mul(b, loc, y, oneMinus)));
  return success();
}

LogicalResult SiluOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  // s (1 + x (1 - s)), s = sigmoid(x)
  Location loc = getLoc();
  Value x = getOperand();
  Value s = SigmoidOp::create(b, loc, x);
  Value one = scalar(b, loc, x, 1.0);
  Value oneMinus = SubOp::create(b, loc, one, s);
  Value inner = AddOp::create(b, loc, one, mul(b, loc, x, oneMinus));
  out.push_back(mul(b, loc, grads[0], mul(b, loc, s, inner)));
  return success();
}

LogicalResult GeluOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value x = getOperand();
  auto c = [&](double v) { return scalar(b, loc, x, v); };
  Value x2 = mul(b, loc, x, x);
  Value one = c(1.0), half = c(0.5);
  Value dydx;
  if (getApproximate() == GeluApproximation::None) {
    // Phi(x) + x phi(x)
    Value u = mul(b, loc, x, c(M_SQRT1_2));
    Value erf = ErfOp::create(b, loc, u);
    Value cdf = mul(b, loc, half, AddOp::create(b, loc, one, erf));
    Value e = ExpOp::create(b, loc, mul(b, loc, x2, c(-0.5)));
    Value pdf = mul(b, loc, c(0.5 * M_2_SQRTPI * M_SQRT1_2), e);
    dydx = AddOp::create(b, loc, cdf, mul(b, loc, x, pdf));
  } else {
    // 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 a x^2), t = tanh(k (x + a x^3))
    const double k = std::sqrt(2.0 / M_PI), a = 0.044715;
    Value x3 = mul(b, loc, x2, x);
    Value ax3 = mul(b, loc, c(a), x3);
    Value sum = AddOp::create(b, loc, x, ax3);
    Value inner = mul(b, loc, c(k), sum);
    Value t = TanhOp::create(b, loc, inner);
    Value left = mul(b, loc, half, AddOp::create(b, loc, one, t));
    Value t2 = mul(b, loc, t, t);
    Value sech2 = SubOp::create(b, loc, one, t2);
    Value ax2 = mul(b, loc, c(3 * a), x2);
    Value onePlus = AddOp::create(b, loc, one, ax2);
    Value slope = mul(b, loc, c(k), onePlus);
    Value halfX = mul(b, loc, half, x);
    Value right = mul(b, loc, halfX, mul(b, loc, sech2, slope));
    dydx = AddOp::create(b, loc, left, right);
  }
  out.push_back(mul(b, loc, grads[0], dydx));
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::buildGradient(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  // Y = A' B' with A' = op(A), B' = op(B): dA' = g B'^T, dB' = A'^T g,
  // written with the transpose flags so nothing is copied.
  Location loc = getLoc();
  Value g = grads[0], A = getLhs(), B = getRhs();
  bool ta = getTransposeLhs(), tb = getTransposeRhs();
  Value dA = ta ? MatmulOp::create(b, loc, B, g, /*transpose_lhs=*/tb,
                                   /*transpose_rhs=*/true)
                : MatmulOp::create(b, loc, g, B, /*transpose_lhs=*/false,
                                   /*transpose_rhs=*/!tb);
  Value dB = tb ? MatmulOp::create(b, loc, g, A, /*transpose_lhs=*/true,
                                   /*transpose_rhs=*/ta)
                : MatmulOp::create(b, loc, A, g, /*transpose_lhs=*/!ta,
                                   /*transpose_rhs=*/false);
  out.push_back(sumToShape(b, loc, dA, cast<RankedTensorType>(A.getType())));
  out.push_back(sumToShape(b, loc, dB, cast<RankedTensorType>(B.getType())));
  return success();
}

LogicalResult LinearOp::buildGradient(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value g = grads[0], x = getInput(), w = getWeight();
  bool inOut = getWeightInOut();
  auto xType = tensorType(x), gType = tensorType(g);
  int64_t k = xType.getShape().back(), n = gType.getShape().back();
  int64_t m = k ? xType.getNumElements() / k : 0;
  // dx = g W (for W [N, K]) or g W^T (for W [K, N]): a linear layer itself.
  out.push_back(LinearOp::create(b, loc, g, w, Value(), /*weight_in_out=*/!inOut));
  // dW over all rows at once: g^T x ([N, K]) or x^T g ([K, N]).
  Value g2 = ReshapeOp::create(b, loc, gType.clone({m, n}), g);
  Value x2 = ReshapeOp::create(b, loc, xType.clone({m, k}), x);
  out.push_back(inOut ? MatmulOp::create(b, loc, x2, g2, true, false)
                      : MatmulOp::create(b, loc, g2, x2, true, false));
  if (getBias())
    out.push_back(ReduceSumOp::create(b, loc, g2, b.getDenseI64ArrayAttr({0}),
                                      /*keep_dims=*/false));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalizations and reductions
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::buildGradient(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  // y (g - sum(g y))
  Location loc = getLoc();
  Value y = getResult(), g = grads[0];
  Value dot = ReduceSumOp::create(b, loc, mul(b, loc, g, y),
                                  b.getDenseI64ArrayAttr({int64_t(getAxis())}),
                                  /*keep_dims=*/true);
  out.push_back(mul(b, loc, y, SubOp::create(b, loc, g, dot)));
  return success();
}

LogicalResult LogSoftmaxOp::buildGradient(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  // g - exp(y) sum(g)
  Location loc = getLoc();
  Value g = grads[0];
  Value total = ReduceSumOp::create(b, loc, g,
                                    b.getDenseI64ArrayAttr({int64_t(getAxis())}),
                                    /*keep_dims=*/true);
  Value p = ExpOp::create(b, loc, getResult());
  out.push_back(SubOp::create(b, loc, g, mul(b, loc, p, total)));
  return success();
}

LogicalResult ReduceSumOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(unreduce(b, getLoc(), grads[0], getOperand().getType(),
                         getAxes(), getKeepDims()));
  return success();
}

LogicalResult ReduceMeanOp::buildGradient(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  int64_t count = 1;
  for (int64_t a : getAxes())
    count *= getOperand().getType().getDimSize(a);
  Value spread = unreduce(b, loc, grads[0], getOperand().getType(), getAxes(),
                          getKeepDims());
  out.push_back(mul(b, loc, spread, scalar(b, loc, spread, 1.0 / count)));
  return success();
}

namespace {

/// The cotangent of a max/min operand as PyTorch's maximum/minimum give it:
/// none where the operand loses, half where the operands tie, all of g
/// otherwise (so a NaN operand passes g to both sides, as in PyTorch).
Value winnerShare(OpBuilder &b, Location loc, Value g, Value self, Value other,
                  CompareDirection loses) {
  auto type = tensorType(g);
  Value selfB = BroadcastOp::create(b, loc, type, self);
  Value otherB = BroadcastOp::create(b, loc, type, other);
  Value zero = scalar(b, loc, g, 0.0);
  Value half = mul(b, loc, g, scalar(b, loc, g, 0.5));
  Value lost = CompareOp::create(b, loc, selfB, otherB, loses);
  Value tie = CompareOp::create(b, loc, selfB, otherB, CompareDirection::EQ);
  Value share = WhereOp::create(b, loc, tie, half, g);
  return WhereOp::create(b, loc, lost, zero, share);
}

/// The cotangent of a max/min reduction: g spread evenly over the elements
/// equal to the result, as torch.amax/amin's gradient does.
Value extremumGrad(OpBuilder &b, Location loc, Value g, Value operand,
                   Value result, ArrayRef<int64_t> axes, bool keepDims) {
  auto type = tensorType(operand);
  Value extremum = unreduce(b, loc, result, type, axes, keepDims);
  Value hit = CompareOp::create(b, loc, operand, extremum, CompareDirection::EQ);
  Value mask = CastOp::create(b, loc, type, hit);
  Value count = ReduceSumOp::create(b, loc, mask, b.getDenseI64ArrayAttr(axes),
                                    /*keep_dims=*/true);
  Value spread = unreduce(b, loc, g, type, axes, keepDims);
  Value counts = BroadcastOp::create(b, loc, type, count);
  Value share = DivOp::create(b, loc, spread, counts);
  return mul(b, loc, share, mask);
}

/// Zeros shaped like `v` (the gradient of a piecewise-constant op).
Value zerosLike(OpBuilder &b, Location loc, Value v) {
  auto type = tensorType(v);
  return ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
}

} // namespace

/// Both operands' cotangents of max (loses = LT) or min (loses = GT).
static void pickGrads(OpBuilder &b, Location loc, Value g, Value lhs, Value rhs,
                      CompareDirection loses, SmallVectorImpl<Value> &out) {
  Value dl = winnerShare(b, loc, g, lhs, rhs, loses);
  out.push_back(sumToShape(b, loc, dl, tensorType(lhs)));
  Value dr = winnerShare(b, loc, g, rhs, lhs, loses);
  out.push_back(sumToShape(b, loc, dr, tensorType(rhs)));
}

LogicalResult MaxOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  pickGrads(b, getLoc(), grads[0], getLhs(), getRhs(), CompareDirection::LT,
            out);
  return success();
}

LogicalResult MinOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  pickGrads(b, getLoc(), grads[0], getLhs(), getRhs(), CompareDirection::GT,
            out);
  return success();
}

LogicalResult AbsOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  // g * sign(x), with sign(0) = 0 as in PyTorch.
  Location loc = getLoc();
  Value g = grads[0], x = getOperand();
  Value zero = scalar(b, loc, x, 0.0);
  Value positive = CompareOp::create(b, loc, x, zero, CompareDirection::GT);
  Value negative = CompareOp::create(b, loc, x, zero, CompareDirection::LT);
  Value negated = NegOp::create(b, loc, g);
  Value onNegative = WhereOp::create(b, loc, negative, negated, zero);
  out.push_back(WhereOp::create(b, loc, positive, g, onNegative));
  return success();
}

LogicalResult SinOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  Value cosine = CosOp::create(b, getLoc(), getOperand());
  out.push_back(mul(b, getLoc(), grads[0], cosine));
  return success();
}

LogicalResult CosOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  Value sine = SinOp::create(b, getLoc(), getOperand());
  Value scaled = mul(b, getLoc(), grads[0], sine);
  out.push_back(NegOp::create(b, getLoc(), scaled));
  return success();
}

LogicalResult ErfOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  // d erf(x) = 2 / sqrt(pi) * exp(-x^2)
  Location loc = getLoc();
  Value x = getOperand();
  Value squared = mul(b, loc, x, x);
  Value negated = NegOp::create(b, loc, squared);
  Value density = ExpOp::create(b, loc, negated);
  Value scaled = mul(b, loc, density, scalar(b, loc, x, 2.0 / std::sqrt(M_PI)));
  out.push_back(mul(b, loc, grads[0], scaled));
  return success();
}

LogicalResult FloorOp::buildGradient(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  out.push_back(zerosLike(b, getLoc(), getOperand()));
  return success();
}

LogicalResult CeilOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  out.push_back(zerosLike(b, getLoc(), getOperand()));
  return success();
}

LogicalResult ReduceMaxOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(extremumGrad(b, getLoc(), grads[0], getOperand(), getResult(),
                             getAxes(), getKeepDims()));
  return success();
}

LogicalResult ReduceMinOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(extremumGrad(b, getLoc(), grads[0], getOperand(), getResult(),
                             getAxes(), getKeepDims()));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::buildGradient(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  out.push_back(ReshapeOp::create(b, getLoc(), getOperand().getType(), grads[0]));
  return success();
}

LogicalResult TransposeOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> inverse(getPermutation().size());
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    inverse[p] = i;
  out.push_back(TransposeOp::create(b, getLoc(), grads[0], inverse));
  return success();
}

LogicalResult BroadcastOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  out.push_back(sumToShape(b, getLoc(), grads[0], getOperand().getType()));
  return success();
}

//===----------------------------------------------------------------------===//
// More elementwise
//===----------------------------------------------------------------------===//

LogicalResult PowOp::buildGradient(OpBuilder &b, ValueRange grads,
                                   SmallVectorImpl<Value> &out) {
  // d/da = b a^(b-1); d/db = y ln(a) (NaN for a < 0 where b is a constant,
  // whose cotangent nothing reads).
  Location loc = getLoc();
  Value g = grads[0], a = getLhs(), e = getRhs();
  Value one = scalar(b, loc, e, 1.0);
  Value eMinus1 = SubOp::create(b, loc, e, one);
  Value aPow = PowOp::create(b, loc, a, eMinus1);
  Value da = mul(b, loc, mul(b, loc, g, e), aPow);
  out.push_back(sumToShape(b, loc, da, getLhs().getType()));
  Value logA = LogOp::create(b, loc, a);
  Value db = mul(b, loc, mul(b, loc, g, getResult()), logA);
  out.push_back(sumToShape(b, loc, db, getRhs().getType()));
  return success();
}

LogicalResult WhereOp::buildGradient(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  Value g = grads[0];
  Value zero = scalar(b, loc, g, 0.0);
  out.push_back(Value()); // the condition
  Value onTrue = WhereOp::create(b, loc, getCondition(), g, zero);
  out.push_back(sumToShape(b, loc, onTrue, getOnTrue().getType()));
  Value onFalse = WhereOp::create(b, loc, getCondition(), zero, g);
  out.push_back(sumToShape(b, loc, onFalse, getOnFalse().getType()));
  return success();
}

LogicalResult CastOp::buildGradient(OpBuilder &b, ValueRange grads,
                                    SmallVectorImpl<Value> &out) {
  auto from = getOperand().getType();
  out.push_back(isa<FloatType>(from.getElementType())
                    ? CastOp::create(b, getLoc(), from, grads[0]).getResult()
                    : Value());
  return success();
}

LogicalResult DropoutOp::buildGradient(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  // The same seed and step keep the same elements, scaled the same way.
  out.push_back(DropoutOp::create(b, getLoc(), grads[0], getStep(),
                                  getRatioAttr(), getSeedAttr(),
                                  getSplitGroupAttr()));
  out.push_back(Value()); // the step
  return success();
}

//===----------------------------------------------------------------------===//
// Slicing and joining
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::buildGradient(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  // Dim by dim, put the cotangent back where the slice took its elements
  // and zeros elsewhere: reverse it for a negative stride, spread it over
  // every stride-th position, then pad before and after.
  Location loc = getLoc();
  auto operandType = getOperand().getType();
  Value g = grads[0];
  auto zeros = [&](ArrayRef<int64_t> shape) -> Value {
    auto type = tensorType(g).clone(shape);
    return ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
  };
  for (int64_t d = 0; d < operandType.getRank(); ++d) {
    auto type = tensorType(g);
    int64_t n = type.getDimSize(d), stride = getStride()[d];
    int64_t first = getStart()[d]; // lowest operand index taken
    if (n == 0) {
      SmallVector<int64_t> shape(type.getShape());
      shape[d] = operandType.getDimSize(d);
      g = zeros(shape);
      continue;
    }
    if (stride < 0) {
      first -= (n - 1) * -stride;
      SmallVector<int64_t> from(type.getRank(), 0), to(type.getShape()),
          step(type.getRank(), 1);
      from[d] = n - 1;
      to[d] = -1;
      step[d] = -1;
      g = SliceOp::create(b, loc, g, from, to, step);
      stride = -stride;
    }
    if (stride > 1) {
      // [.., n, ..] -> [.., n, 1, ..] ++ zeros [.., n, stride - 1, ..]
      // -> [.., n * stride, ..], then drop the zeros after the last element.
      SmallVector<int64_t> split(type.getShape());
      split.insert(split.begin() + d + 1, 1);
      Value column = ReshapeOp::create(b, loc, type.clone(split), g);
      SmallVector<int64_t> gapShape(split);
      gapShape[d + 1] = stride - 1;
      Value gaps = zeros(gapShape);
      Value spread = ConcatOp::create(b, loc, ValueRange{column, gaps}, d + 1);
      SmallVector<int64_t> flat(type.getShape());
      flat[d] = n * stride;
      Value interleaved = ReshapeOp::create(b, loc, type.clone(flat), spread);
      SmallVector<int64_t> from(type.getRank(), 0), to(flat),
          step(type.getRank(), 1);
      to[d] = (n - 1) * stride + 1;
      g = SliceOp::create(b, loc, interleaved, from, to, step);
    }
    int64_t covered = tensorType(g).getDimSize(d);
    int64_t after = operandType.getDimSize(d) - first - covered;
    SmallVector<Value> pieces;
    SmallVector<int64_t> padShape(tensorType(g).getShape());
    if (first) {
      padShape[d] = first;
      pieces.push_back(zeros(padShape));
    }
    pieces.push_back(g);
    if (after) {
      padShape[d] = after;
      pieces.push_back(zeros(padShape));
    }
    if (pieces.size() > 1)
      g = ConcatOp::create(b, loc, pieces, d);
  }
  out.push_back(g);
  return success();
}

LogicalResult ConcatOp::buildGradient(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  Location loc = getLoc();
  auto type = getType();
  int64_t axis = getAxis(), offset = 0;
  for (Value operand : getOperands()) {
    SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape()),
        stride(type.getRank(), 1);
    int64_t size = tensorType(operand).getDimSize(axis);
    start[axis] = offset;
    limit[axis] = offset + size;
    offset += size;
    out.push_back(SliceOp::create(b, loc, grads[0], start, limit, stride));
  }
  return success();
}

LogicalResult SplitOp::buildGradient(OpBuilder &b, ValueRange grads,
                                     SmallVectorImpl<Value> &out) {
  // Pieces nothing read contribute zeros.
  Location loc = getLoc();
  SmallVector<Value> pieces;
  for (auto [g, r] : llvm::zip(grads, getResults())) {
    if (g) {
      pieces.push_back(g);
      continue;
    }
    auto type = cast<RankedTensorType>(r.getType());
    pieces.push_back(ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType()))));
  }
  out.push_back(pieces.size() == 1 ? pieces[0]
                                   : ConcatOp::create(b, loc, pieces, getAxis())
                                         .getResult());
  return success();
}

//===----------------------------------------------------------------------===//
// Normalizations over the trailing dims
//===----------------------------------------------------------------------===//

namespace {
SmallVector<int64_t> trailingAxes(int64_t axis, int64_t rank) {
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < rank; ++d)
    axes.push_back(d);
  return axes;
}

Value meanOver(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> axes) {
  return ReduceMeanOp::create(b, loc, v, b.getDenseI64ArrayAttr(axes),
                              /*keep_dims=*/true);
}
} // namespace

LogicalResult LayerNormOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  // xhat = (x - mean) rstd; dx = rstd (dxhat - mean(dxhat) - xhat
  // mean(dxhat xhat)) with dxhat = g scale.
  // A bf16/fp16 norm's gradient is computed in fp32 and rounded once, as
  // its kernel.
  Location loc = getLoc();
  Type f32 = b.getF32Type(), type = getType().getElementType();
  Value x = castElement(b, loc, getOperand(), f32);
  Value g = castElement(b, loc, grads[0], f32);
  Value scaleValue = castElement(b, loc, getScale(), f32);
  SmallVector<int64_t> axes = trailingAxes(getAxis(), getType().getRank());
  Value mean = meanOver(b, loc, x, axes);
  Value xc = SubOp::create(b, loc, x, mean);
  Value var = meanOver(b, loc, mul(b, loc, xc, xc), axes);
  Value eps = scalar(b, loc, x, getEpsilon().convertToDouble());
  Value rstd = RsqrtOp::create(b, loc, AddOp::create(b, loc, var, eps));
  Value xhat = mul(b, loc, xc, rstd);
  Value dxhat = scaleValue ? mul(b, loc, g, scaleValue) : g;
  Value m1 = meanOver(b, loc, dxhat, axes);
  Value m2 = meanOver(b, loc, mul(b, loc, dxhat, xhat), axes);
  Value centered = SubOp::create(b, loc, dxhat, m1);
  Value inner = SubOp::create(b, loc, centered, mul(b, loc, xhat, m2));
  out.push_back(castElement(b, loc, mul(b, loc, rstd, inner), type));
  for (Value param : {getScale(), getBias()}) {
    if (!param)
      continue;
    Value term = param == getScale() ? mul(b, loc, g, xhat) : g;
    auto paramType = tensorType(param);
    out.push_back(castElement(b, loc,
                              sumToShape(b, loc, term, paramType.clone(f32)),
                              paramType.getElementType()));
  }
  return success();
}

LogicalResult RmsNormOp::buildGradient(OpBuilder &b, ValueRange grads,
                                       SmallVectorImpl<Value> &out) {
  // xhat = x r, r = rsqrt(mean(x^2) + eps); dx = r (dxhat - xhat
  // mean(dxhat xhat)).
  Location loc = getLoc();
  Type f32 = b.getF32Type(), type = getType().getElementType();
  Value x = castElement(b, loc, getOperand(), f32);
  Value g = castElement(b, loc, grads[0], f32);
  Value scaleValue = castElement(b, loc, getScale(), f32);
  SmallVector<int64_t> axes = trailingAxes(getAxis(), getType().getRank());
  Value ms = meanOver(b, loc, mul(b, loc, x, x), axes);
  Value eps = scalar(b, loc, x, getEpsilon().convertToDouble());
  Value r = RsqrtOp::create(b, loc, AddOp::create(b, loc, ms, eps));
  Value xhat = mul(b, loc, x, r);
  Value dxhat = scaleValue ? mul(b, loc, g, scaleValue) : g;
  Value m = meanOver(b, loc, mul(b, loc, dxhat, xhat), axes);
  Value inner = SubOp::create(b, loc, dxhat, mul(b, loc, xhat, m));
  out.push_back(castElement(b, loc, mul(b, loc, r, inner), type));
  if (Value scale = getScale()) {
    auto scaleType = tensorType(scale);
    out.push_back(castElement(
        b, loc, sumToShape(b, loc, mul(b, loc, g, xhat), scaleType.clone(f32)),
        scaleType.getElementType()));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::buildGradient(OpBuilder &b, ValueRange grads,
                                         SmallVectorImpl<Value> &out) {
  // The fused backward kernel computes P again block by block; the
  // decomposed graph would hold P, dP and dS as [B, H, Sq, Sk] tensors.
  auto grad = AttentionGradOp::create(b, getLoc(), getQuery(), getKey(),
                                      getValue(), grads[0], getMask(),
                                      getCausalAttr(), getScaleAttr());
  out.append(grad->result_begin(), grad->result_end());
  if (getMask())
    out.push_back(Value()); // masks are not trained
  return success();
}

//===----------------------------------------------------------------------===//
// Gather and its adjoint
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::buildGradient(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  out.push_back(ScatterAddOp::create(b, getLoc(), getOperand().getType(),
                                     grads[0], getIndices(), Value(), getAxis(),
                                     getPaddingIdxAttr()));
  out.push_back(Value()); // indices
  return success();
}

LogicalResult CumSumOp::buildGradient(OpBuilder &b, ValueRange grads,
                                      SmallVectorImpl<Value> &out) {
  // Each input element reaches every output it is summed into: the
  // cotangent is the running sum taken the other way.
  if (!isa<FloatType>(getType().getElementType()))
    return emitOpError("of integers is not differentiable");
  out.push_back(CumSumOp::create(b, getLoc(), grads[0], getAxis(),
                                 getExclusive(), !getReverse()));
  return success();
}

LogicalResult ScatterAddOp::buildGradient(OpBuilder &b, ValueRange grads,
                                          SmallVectorImpl<Value> &out) {
  // Skipped slices would need their cotangent zeroed; no model takes a
  // second derivative through an embedding, so say so rather than guess.
  if (getSkipIndex())
    return emitOpError("with skip_index is not differentiable");
  out.push_back(GatherOp::create(b, getLoc(), grads[0], getIndices(), getAxis(),
                                 IntegerAttr()));
  out.push_back(Value()); // indices
  if (getInit())
    out.push_back(grads[0]); // what the slices were added to
  return success();
}
