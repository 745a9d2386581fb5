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

using namespace mlir;
using namespace accel;

namespace {

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// A scalar constant of `v`'s element type.
Value scalar(OpBuilder &b, Location loc, Value like, double value) {
  Type et = tensorType(like).getElementType();
  auto type = RankedTensorType::get({}, et);
  return ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, FloatAttr::get(et, value).getValue()));
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
