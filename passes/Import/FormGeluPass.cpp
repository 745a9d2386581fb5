//===- FormGeluPass.cpp - GELU formulas to accel.gelu --------------------===//
//
// Matches at the final product 0.5 * x * (1 + f(u)), with f = erf or tanh,
// by flattening the multiplication tree into constant and non-constant
// factors, so any association and order of the factors matches.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Import/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace accel {
#define GEN_PASS_DEF_FORMGELUPASS
#include "passes/Import/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

bool near(double a, double b) { return std::abs(a - b) <= 1e-4 * std::abs(b); }

/// Splits a product into its constant scalar factor and other factors,
/// looking through nested muls and divisions by constants.
void factor(Value v, double &scale, SmallVectorImpl<Value> &factors,
            int depth = 0) {
  if (depth < 4) {
    if (auto mul = v.getDefiningOp<MulOp>()) {
      factor(mul.getLhs(), scale, factors, depth + 1);
      factor(mul.getRhs(), scale, factors, depth + 1);
      return;
    }
    if (auto div = v.getDefiningOp<DivOp>()) {
      if (std::optional<double> c = matchScalarConstant(div.getRhs()); c && *c != 0) {
        factor(div.getLhs(), scale, factors, depth + 1);
        scale /= *c;
        return;
      }
    }
  }
  if (std::optional<double> c = matchScalarConstant(v))
    scale *= *c;
  else
    factors.push_back(v);
}

/// True when v is c * x with c the given constant (within tolerance).
bool isScaled(Value v, Value x, double expected) {
  double scale = 1.0;
  SmallVector<Value> factors;
  factor(v, scale, factors);
  return factors.size() == 1 && factors[0] == x && near(scale, expected);
}

/// True when v is x * x * x (as pow(x, 3) or products).
bool isCube(Value v, Value x) {
  if (auto pow = v.getDefiningOp<PowOp>()) {
    std::optional<double> e = matchScalarConstant(pow.getRhs());
    return pow.getLhs() == x && e && *e == 3.0;
  }
  double scale = 1.0;
  SmallVector<Value> factors;
  factor(v, scale, factors);
  if (scale != 1.0)
    return false;
  int count = 0;
  for (Value f : factors) {
    if (f == x)
      ++count;
    else if (auto pow = f.getDefiningOp<PowOp>();
             pow && pow.getLhs() == x && matchScalarConstant(pow.getRhs()) == 2.0)
      count += 2;
    else
      return false;
  }
  return count == 3;
}

/// The GELU form of t = 1 + f(u) for input x, if t is one.
std::optional<GeluApproximation> geluForm(Value t, Value x) {
  auto add = t.getDefiningOp<AddOp>();
  if (!add)
    return std::nullopt;
  Value f = add.getLhs();
  std::optional<double> one = matchScalarConstant(add.getRhs());
  if (!one) {
    f = add.getRhs();
    one = matchScalarConstant(add.getLhs());
  }
  if (!one || *one != 1.0)
    return std::nullopt;
  if (auto erf = f.getDefiningOp<ErfOp>())
    if (isScaled(erf.getOperand(), x, 1.0 / std::sqrt(2.0)))
      return GeluApproximation::None;
  if (auto tanh = f.getDefiningOp<TanhOp>()) {
    // u = sqrt(2/pi) * (x + 0.044715 x^3)
    double scale = 1.0;
    SmallVector<Value> factors;
    factor(tanh.getOperand(), scale, factors);
    auto inner = factors.size() == 1 ? factors[0].getDefiningOp<AddOp>()
                                     : AddOp();
    if (!inner || !near(scale, std::sqrt(2.0 / M_PI)))
      return std::nullopt;
    for (auto [a, b] : {std::pair(inner.getLhs(), inner.getRhs()),
                        std::pair(inner.getRhs(), inner.getLhs())}) {
      if (a != x)
        continue;
      double c = 1.0;
      SmallVector<Value> cube;
      factor(b, c, cube);
      if (near(c, 0.044715) &&
          ((cube.size() == 1 && isCube(cube[0], x)) ||
           (cube.size() == 3 && llvm::all_of(cube, [&](Value v) { return v == x; }))))
        return GeluApproximation::Tanh;
    }
  }
  return std::nullopt;
}

struct FormGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    double scale = 1.0;
    SmallVector<Value> factors;
    factor(op.getResult(), scale, factors);
    if (factors.size() != 2 || !near(scale, 0.5))
      return failure();
    for (auto [x, t] : {std::pair(factors[0], factors[1]),
                        std::pair(factors[1], factors[0])}) {
      if (x.getType() != op.getType())
        continue;
      if (std::optional<GeluApproximation> form = geluForm(t, x)) {
        rewriter.replaceOpWithNewOp<GeluOp>(
            op, x, GeluApproximationAttr::get(getContext(), *form));
        return success();
      }
    }
    return failure();
  }
};

struct FormGeluPass : accel::impl::FormGeluPassBase<FormGeluPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FormGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
