//===- FormRmsNormPass.cpp - RMSNorm formulas to accel.rms_norm ----------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Import/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

namespace accel {
#define GEN_PASS_DEF_FORMRMSNORMPASS
#include "passes/Import/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// For v = 1 / sqrt(mean(x^2, trailing axes) + eps) (as reciprocal(sqrt),
/// rsqrt, 1 / sqrt, or with `inverse` false, the sqrt itself), the reduced
/// axis and eps.
std::optional<std::pair<int64_t, double>> matchRms(Value v, Value x,
                                                   bool inverse) {
  Value root;
  if (inverse) {
    if (auto r = v.getDefiningOp<RsqrtOp>())
      root = r.getOperand();
    else if (auto rec = v.getDefiningOp<ReciprocalOp>()) {
      if (auto s = rec.getOperand().getDefiningOp<SqrtOp>())
        root = s.getOperand();
    } else if (auto div = v.getDefiningOp<DivOp>()) { // 1 / sqrt(...)
      if (auto s = div.getRhs().getDefiningOp<SqrtOp>();
          s && matchScalarConstant(div.getLhs()) == 1.0)
        root = s.getOperand();
    }
  } else if (auto s = v.getDefiningOp<SqrtOp>()) {
    root = s.getOperand();
  }
  auto add = root ? root.getDefiningOp<AddOp>() : AddOp();
  if (!add)
    return std::nullopt;
  Value meanValue = add.getLhs();
  std::optional<double> eps = matchScalarConstant(add.getRhs());
  if (!eps) {
    meanValue = add.getRhs();
    eps = matchScalarConstant(add.getLhs());
  }
  auto mean = meanValue.getDefiningOp<ReduceMeanOp>();
  if (!eps || !mean || !mean.getKeepDims())
    return std::nullopt;
  // The square: pow(x, 2) or x * x.
  Value sq = mean.getOperand();
  bool isSquare = false;
  if (auto pow = sq.getDefiningOp<PowOp>())
    isSquare = pow.getLhs() == x && matchScalarConstant(pow.getRhs()) == 2.0;
  else if (auto mul = sq.getDefiningOp<MulOp>())
    isSquare = mul.getLhs() == x && mul.getRhs() == x;
  if (!isSquare)
    return std::nullopt;
  // The axes must be the trailing ones.
  ArrayRef<int64_t> axes = mean.getAxes();
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (axes.empty() || axes.back() != rank - 1 ||
      int64_t(axes.size()) != rank - axes.front())
    return std::nullopt;
  return std::make_pair(axes.front(), *eps);
}

/// Roots at a mul (x * inv) or a div (x / sqrt), so matches any op.
struct FormRmsNorm : RewritePattern {
  FormRmsNorm(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  /// Matches x * inv(...) and x / sqrt(...).
  LogicalResult matchRoot(Operation *op, Value &x, int64_t &axis,
                          double &eps) const {
    if (auto mul = dyn_cast<MulOp>(op)) {
      for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                          std::pair(mul.getRhs(), mul.getLhs())})
        if (a.getType() == mul.getType())
          if (auto m = matchRms(b, a, /*inverse=*/true)) {
            x = a;
            std::tie(axis, eps) = *m;
            return success();
          }
    } else if (auto div = dyn_cast<DivOp>(op)) {
      if (div.getLhs().getType() == div.getType())
        if (auto m = matchRms(div.getRhs(), div.getLhs(), /*inverse=*/false)) {
          x = div.getLhs();
          std::tie(axis, eps) = *m;
          return success();
        }
    }
    return failure();
  }

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    Value x;
    int64_t axis;
    double eps;
    if (failed(matchRoot(op, x, axis, eps)))
      return failure();
    auto type = cast<RankedTensorType>(x.getType());
    if (!type.getElementType().isF32())
      return failure();
    // A following multiplication by the weight becomes the scale.
    Value scale;
    Operation *root = op;
    ArrayRef<int64_t> normShape = type.getShape().drop_front(axis);
    if (op->hasOneUse())
      if (auto mul = dyn_cast<MulOp>(*op->user_begin()))
        for (Value w : {mul.getLhs(), mul.getRhs()})
          if (w != op->getResult(0) &&
              cast<RankedTensorType>(w.getType()).getShape() == normShape &&
              mul.getType() == type) {
            scale = w;
            root = mul;
          }
    rewriter.setInsertionPoint(root);
    auto norm = RmsNormOp::create(rewriter, root->getLoc(), type, x, scale,
                                  rewriter.getI64IntegerAttr(axis),
                                  rewriter.getF32FloatAttr(float(eps)));
    rewriter.replaceOp(root, norm.getResult());
    return success();
  }
};

struct FormRmsNormPass
    : accel::impl::FormRmsNormPassBase<FormRmsNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FormRmsNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
