//===- FormAttentionPass.cpp - matmul/softmax/matmul to attention --------===//
//
// Walks back from `matmul(probabilities, value)` through the softmax and the
// elementwise ops on the scores to `matmul(query, key^T)`, collecting the
// scale factors and masks on the way. Anything unexpected leaves the
// subgraph as it is: the pattern only ever fires when the rewrite is exact.
//
//===----------------------------------------------------------------------===//
#include "accel/Evaluation/ConstantEvaluator.h"
#include "dialects/Accel/AccelOps.h"
#include "passes/Import/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"


namespace accel {
#define GEN_PASS_DEF_FORMATTENTIONPASS
#include "passes/Import/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// Largest mask (elements) evaluated to test for causality: a batch of 64
/// sequences of 1024 tokens.
constexpr int64_t kMaxMaskElements = int64_t(64) << 20;

/// A mask met on the way back, and the product of the scale factors that
/// the forward computation applies after it.
struct Mask {
  Value value;
  bool isKeep;  // an i1 mask (else an additive float mask)
  bool negated; // for i1 masks: true marks the dropped positions
  double scaleAfter;
  double fill; // for i1 masks: the value dropped scores were set to
};

bool isSwapLastTwo(TransposeOp t) {
  ArrayRef<int64_t> p = t.getPermutation();
  return p.size() == 4 && p[0] == 0 && p[1] == 1 && p[2] == 3 && p[3] == 2;
}

/// The rank-4 [B, H, S, D] value whose last two dims `v` swaps, or null.
/// Exporters write the swap as a transpose, or (the torch exporter's sdpa
/// decomposition) as reshape to [B*H, S, D], transpose of the last two dims
/// and reshape to [B, H, D, S].
Value unswapLastTwo(Value v) {
  if (auto t = v.getDefiningOp<TransposeOp>())
    return isSwapLastTwo(t) ? t.getOperand() : Value();
  auto outer = v.getDefiningOp<ReshapeOp>();
  auto t = outer ? outer.getOperand().getDefiningOp<TransposeOp>() : nullptr;
  auto inner = t ? t.getOperand().getDefiningOp<ReshapeOp>() : nullptr;
  if (!inner || t.getPermutation() != ArrayRef<int64_t>{0, 2, 1})
    return Value();
  auto x = cast<RankedTensorType>(inner.getOperand().getType());
  auto merged = cast<RankedTensorType>(inner.getType());
  auto swapped = cast<RankedTensorType>(outer.getType());
  if (x.getRank() != 4 || !x.hasStaticShape())
    return Value();
  ArrayRef<int64_t> d = x.getShape();
  if (merged.getShape() != ArrayRef<int64_t>{d[0] * d[1], d[2], d[3]} ||
      swapped.getShape() != ArrayRef<int64_t>{d[0], d[1], d[3], d[2]})
    return Value();
  return inner.getOperand();
}

/// Strips constant scalar multiplications off `v`, folding them into scale.
Value stripScale(Value v, double &scale) {
  while (auto mul = v.getDefiningOp<MulOp>()) {
    std::optional<double> c;
    Value other;
    if ((c = matchScalarConstant(mul.getRhs())))
      other = mul.getLhs();
    else if ((c = matchScalarConstant(mul.getLhs())))
      other = mul.getRhs();
    else
      break;
    if (other.getType() != v.getType())
      break;
    scale *= *c;
    v = other;
  }
  return v;
}

struct FormAttention : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp out,
                                PatternRewriter &rewriter) const override {
    if (out.getTransposeLhs() || out.getTransposeRhs() ||
        out.getType().getRank() != 4)
      return failure();
    // The torch exporter guards sdpa's probabilities as
    // Where(IsNaN(p), 0, p), the ONNX spelling of PyTorch's safe softmax
    // (rows whose scores are all -inf give zeros). accel.attention gives
    // zeros for those rows too; like PyTorch, not like the guard, it keeps a
    // NaN that comes from NaN scores.
    Value probs = out.getLhs();
    unsigned guardUses = 0;
    if (auto guard = probs.getDefiningOp<WhereOp>()) {
      auto isNan = guard.getCondition().getDefiningOp<CompareOp>();
      std::optional<double> zero = matchScalarConstant(guard.getOnTrue());
      if (isNan && isNan.getDirection() == CompareDirection::NE &&
          isNan.getLhs() == guard.getOnFalse() &&
          isNan.getRhs() == guard.getOnFalse() && zero && *zero == 0.0 &&
          guard->hasOneUse() && isNan->hasOneUse() &&
          guard.getType() == guard.getOnFalse().getType()) {
        probs = guard.getOnFalse();
        guardUses = 3; // both operands of the compare, and the select
      }
    }
    auto softmax = probs.getDefiningOp<SoftmaxOp>();
    if (!softmax || softmax.getAxis() != 3 ||
        !llvm::hasNItems(softmax->getUses(), guardUses ? guardUses : 1))
      return failure();
    Value value = out.getRhs();
    auto scoreType = softmax.getType();

    // Walk back from the softmax input to the scores matmul.
    double scale = 1.0;
    SmallVector<Mask> masks;
    Value s = softmax.getOperand();
    MatmulOp scores;
    while (!scores) {
      Operation *def = s.getDefiningOp();
      if (!def || !def->hasOneUse())
        return failure();
      if (auto m = dyn_cast<MatmulOp>(def)) {
        scores = m;
      } else if (auto mul = dyn_cast<MulOp>(def)) {
        double before = scale;
        Value rest = stripScale(s, scale);
        if (scale == before)
          return failure();
        s = rest;
      } else if (auto div = dyn_cast<DivOp>(def)) {
        std::optional<double> c = matchScalarConstant(div.getRhs());
        if (!c || *c == 0 || div.getLhs().getType() != scoreType)
          return failure();
        scale /= *c;
        s = div.getLhs();
      } else if (auto add = dyn_cast<AddOp>(def)) {
        // The scores side has the scores' full type and is computed; the
        // mask broadcasts.
        Value lhs = add.getLhs(), rhs = add.getRhs();
        bool lhsScores = lhs.getType() == scoreType &&
                         !matchPattern(lhs, m_Constant()) &&
                         lhs.getDefiningOp() && lhs.getDefiningOp()->hasOneUse();
        Value next = lhsScores ? lhs : rhs, mask = lhsScores ? rhs : lhs;
        if (next.getType() != scoreType)
          return failure();
        masks.push_back({mask, false, false, scale, 0.0});
        s = next;
      } else if (auto where = dyn_cast<WhereOp>(def)) {
        std::optional<double> fill;
        Value next;
        bool negated = false;
        if ((fill = matchScalarConstant(where.getOnFalse()))) {
          next = where.getOnTrue();
        } else if ((fill = matchScalarConstant(where.getOnTrue()))) {
          next = where.getOnFalse();
          negated = true;
        } else {
          return failure();
        }
        // Only a select that drops scores (to a very negative value after
        // scaling) is a mask.
        if (*fill * scale > -1e4 || next.getType() != scoreType)
          return failure();
        masks.push_back({where.getCondition(), true, negated, scale, *fill});
        s = next;
      } else {
        return failure();
      }
    }
    if (scores.getTransposeLhs())
      return failure();

    // Query and key, with scale factors applied to them before the matmul.
    Value query = stripScale(scores.getLhs(), scale);
    // The key is the matmul's rhs read transposed, an explicit transpose's
    // operand, or else (keyTransposed) the rhs itself, transposed below.
    Value key = stripScale(scores.getRhs(), scale);
    bool keyTransposed = false;
    if (!scores.getTransposeRhs()) {
      if (Value unswapped = unswapLastTwo(key))
        key = stripScale(unswapped, scale);
      else
        keyTransposed = true;
    }
    auto qType = cast<RankedTensorType>(query.getType());
    auto kType = cast<RankedTensorType>(key.getType());
    auto vType = cast<RankedTensorType>(value.getType());
    if (qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4 ||
        scale <= 0)
      return failure();
    // MatMul broadcasts batch and head dims (multi-query attention);
    // accel.attention does not, so such graphs stay as they are.
    for (int64_t d = 0; d < 2; ++d)
      if (qType.getDimSize(d) != kType.getDimSize(d) ||
          qType.getDimSize(d) != vType.getDimSize(d))
        return failure();
    int64_t sq = qType.getDimSize(2);
    int64_t sk = kType.getDimSize(keyTransposed ? 3 : 2);
    Type et = scoreType.getElementType();
    for (const Mask &m : masks) {
      auto mt = cast<RankedTensorType>(m.value.getType());
      if (m.isKeep != mt.getElementType().isInteger(1) ||
          (!m.isKeep && mt.getElementType() != et))
        return failure();
    }

    // Everything matched; build.
    Location loc = out.getLoc();
    if (keyTransposed)
      key = TransposeOp::create(rewriter, scores.getLoc(), key,
                                ArrayRef<int64_t>{0, 1, 3, 2});

    // A constant causal mask becomes the flag; the rest combine additively.
    bool causal = false;
    SmallVector<Mask> rest;
    for (const Mask &m : masks) {
      // Masks computed from constants only (exporters build them from
      // iota, compare and expand) are evaluated here, without
      // materializing them, to see whether they are causal.
      std::optional<DenseElementsAttr> c;
      if (!causal && !m.negated &&
          (c = evaluateConstantValue(m.value, kMaxMaskElements)) &&
          isCausalMask(*c, sq, sk)) {
        causal = true;
        continue;
      }
      rest.push_back(m);
    }
    Value mask;
    auto scalar = [&](double v) -> Value {
      auto type = RankedTensorType::get({}, et);
      return ConstantOp::create(
          rewriter, loc, type,
          DenseElementsAttr::get(type, FloatAttr::get(et, v).getValue()));
    };
    // A select that set dropped scores to a finite value becomes that
    // additive value, so rows where every key is dropped keep the export's
    // semantics (a uniform softmax), not the kernel's zeros for -inf.
    for (const Mask &m : rest) {
      Value additive = m.value;
      if (m.isKeep) {
        double dropped = m.fill * m.scaleAfter;
        additive = WhereOp::create(rewriter, loc, m.value,
                                   scalar(m.negated ? dropped : 0.0),
                                   scalar(m.negated ? 0.0 : dropped));
      } else if (m.scaleAfter != 1.0) { // scaled by the factors after it
        additive = MulOp::create(rewriter, loc, additive, scalar(m.scaleAfter));
      }
      mask = mask ? AddOp::create(rewriter, loc, mask, additive).getResult()
                  : additive;
    }
    auto attention = AttentionOp::create(
        rewriter, loc, out.getType(), query, key, value, mask,
        causal ? rewriter.getUnitAttr() : UnitAttr(),
        rewriter.getF32FloatAttr(static_cast<float>(scale)));
    rewriter.replaceOp(out, attention.getResult());
    return success();
  }
};

struct FormAttentionPass
    : accel::impl::FormAttentionPassBase<FormAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FormAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
