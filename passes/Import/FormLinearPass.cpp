//===- FormLinearPass.cpp - matmul by a 2-D weight (+ bias) to linear ----===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Import/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace accel {
#define GEN_PASS_DEF_FORMLINEARPASS
#include "passes/Import/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

struct MatmulToLinear : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getTransposeLhs() || op.getRhs().getType().getRank() != 2)
      return failure();
    auto linear = LinearOp::create(rewriter, op.getLoc(), op.getLhs(),
                                   op.getRhs(), /*bias=*/Value(),
                                   /*weight_in_out=*/!op.getTransposeRhs());
    rewriter.replaceOp(op, linear.getResult());
    return success();
  }
};

struct FoldBiasIntoLinear : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [product, bias] : {std::pair(op.getLhs(), op.getRhs()),
                                 std::pair(op.getRhs(), op.getLhs())}) {
      auto linear = product.getDefiningOp<LinearOp>();
      if (!linear || linear.getBias() || !linear->hasOneUse() ||
          product.getType() != op.getType())
        continue;
      auto biasType = cast<RankedTensorType>(bias.getType());
      int64_t n = op.getType().getShape().back();
      // A bias of shape [N] or [1, ..., 1, N].
      if (biasType.getNumElements() != n || biasType.getShape().back() != n ||
          biasType.getRank() > op.getType().getRank())
        continue;
      Value bias1d = bias;
      if (biasType.getRank() != 1)
        bias1d = ReshapeOp::create(rewriter, op.getLoc(),
                                   biasType.clone(ArrayRef<int64_t>{n}), bias);
      auto fused = LinearOp::create(rewriter, op.getLoc(), linear.getInput(),
                                    linear.getWeight(), bias1d,
                                    linear.getWeightInOut());
      rewriter.replaceOp(op, fused.getResult());
      rewriter.eraseOp(linear);
      return success();
    }
    return failure();
  }
};

struct FormLinearPass : accel::impl::FormLinearPassBase<FormLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToLinear, FoldBiasIntoLinear>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
