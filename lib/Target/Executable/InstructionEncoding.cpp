//===- InstructionEncoding.cpp - accel ops as runtime instructions -------===//
#include "lib/Target/Executable/InstructionEncoding.h"
#include "accel/runtime/Tensor.h"
#include "dialects/Accel/AccelOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace accel;

namespace {
EncodedAttr intAttr(const char *name, std::vector<int64_t> v) {
  return {name, std::move(v), {}, std::nullopt};
}
EncodedAttr floatAttr(const char *name, double v) {
  return {name, {}, {v}, std::nullopt};
}
EncodedAttr strAttr(const char *name, std::string v) {
  return {name, {}, {}, std::move(v)};
}
std::vector<int64_t> toVector(ArrayRef<int64_t> a) {
  return {a.begin(), a.end()};
}

} // namespace

std::optional<uint8_t> accel::encodeDType(Type t) {
  using rt::DType;
  auto code = [](DType d) { return static_cast<uint8_t>(d); };
  if (t.isF32())
    return code(DType::F32);
  if (t.isF64())
    return code(DType::F64);
  if (t.isF16())
    return code(DType::F16);
  if (t.isBF16())
    return code(DType::BF16);
  if (t.isInteger(1))
    return code(DType::Bool);
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.isUnsigned())
      return i.getWidth() == 8 ? std::optional(code(DType::U8)) : std::nullopt;
    switch (i.getWidth()) {
    case 64:
      return code(DType::I64);
    case 32:
      return code(DType::I32);
    case 16:
      return code(DType::I16);
    case 8:
      return code(DType::I8);
    }
  }
  return std::nullopt;
}

FailureOr<EncodedInstruction> accel::encodeInstruction(Operation *op) {
  EncodedInstruction inst;
  inst.kernel = op->getName().stripDialect().str();
  inst.operands.assign(op->operand_begin(), op->operand_end());
  if (op->getDialect() == nullptr ||
      op->getDialect()->getNamespace() != AccelDialect::getDialectNamespace())
    return op->emitOpError("has no runtime kernel (only accel ops run)");

  bool ok = true;
  TypeSwitch<Operation *>(op)
      .Case<GeluOp>([&](GeluOp g) {
        inst.attrs.push_back(
            strAttr("approximate",
                    stringifyGeluApproximation(g.getApproximate()).str()));
      })
      .Case<CompareOp>([&](CompareOp c) {
        inst.attrs.push_back(strAttr(
            "direction", stringifyCompareDirection(c.getDirection()).str()));
      })
      .Case<DropoutOp>([&](DropoutOp d) {
        inst.operands = {d.getOperand(), d.getStep()};
        inst.attrs.push_back(floatAttr("ratio", d.getRatio().convertToFloat()));
        inst.attrs.push_back(
            intAttr("seed", {static_cast<int64_t>(d.getSeed())}));
        if (auto group = d.getSplitGroup())
          inst.attrs.push_back(strAttr("split_group", group->str()));
      })
      .Case<MatmulOp>([&](MatmulOp m) {
        inst.attrs.push_back(intAttr("transpose_lhs", {m.getTransposeLhs()}));
        inst.attrs.push_back(intAttr("transpose_rhs", {m.getTransposeRhs()}));
      })
      .Case<LinearOp>([&](LinearOp l) {
        inst.operands = {l.getInput(), l.getWeight(), l.getBias()};
        inst.attrs.push_back(intAttr("weight_in_out", {l.getWeightInOut()}));
      })
      .Case<AttentionOp>([&](AttentionOp a) {
        inst.operands = {a.getQuery(), a.getKey(), a.getValue(), a.getMask()};
        inst.attrs.push_back(intAttr("causal", {a.getCausal()}));
        inst.attrs.push_back(floatAttr("scale", a.getScaleOrDefault()));
      })
      .Case<AttentionGradOp>([&](AttentionGradOp a) {
        inst.operands = {a.getQuery(), a.getKey(), a.getValue(), a.getGrad(),
                         a.getMask()};
        inst.attrs.push_back(intAttr("causal", {a.getCausal()}));
        inst.attrs.push_back(floatAttr("scale", a.getScaleOrDefault()));
      })
      .Case<SoftmaxOp, LogSoftmaxOp>([&](auto s) {
        inst.attrs.push_back(intAttr("axis", {int64_t(s.getAxis())}));
      })
      .Case<LayerNormOp>([&](LayerNormOp l) {
        inst.operands = {l.getOperand(), l.getScale(), l.getBias()};
        inst.attrs.push_back(intAttr("axis", {int64_t(l.getAxis())}));
        inst.attrs.push_back(
            floatAttr("epsilon", l.getEpsilon().convertToFloat()));
      })
      .Case<RmsNormOp>([&](RmsNormOp l) {
        inst.operands = {l.getOperand(), l.getScale()};
        inst.attrs.push_back(intAttr("axis", {int64_t(l.getAxis())}));
        inst.attrs.push_back(
            floatAttr("epsilon", l.getEpsilon().convertToFloat()));
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp>([&](auto r) {
        inst.attrs.push_back(intAttr("axes", toVector(r.getAxes())));
      })
      .Case<ReshapeOp>([&](ReshapeOp) { inst.kernel = "copy"; })
      .Case<TransposeOp>([&](TransposeOp t) {
        inst.attrs.push_back(
            intAttr("permutation", toVector(t.getPermutation())));
      })
      .Case<SliceOp>([&](SliceOp s) {
        inst.attrs.push_back(intAttr("start", toVector(s.getStart())));
        inst.attrs.push_back(intAttr("stride", toVector(s.getStride())));
      })
      .Case<ConcatOp, SplitOp, GatherOp>([&](auto c) {
        inst.attrs.push_back(intAttr("axis", {int64_t(c.getAxis())}));
      })
      .Case<AllReduceOp, AllReduceStartOp>([&](auto c) {
        inst.attrs.push_back(strAttr("group", c.getGroup().str()));
        inst.attrs.push_back(
            strAttr("reduction", stringifyReduction(c.getReduction()).str()));
      })
      .Case<ReduceScatterOp, ReduceScatterStartOp>([&](auto c) {
        inst.attrs.push_back(strAttr("group", c.getGroup().str()));
        inst.attrs.push_back(
            strAttr("reduction", stringifyReduction(c.getReduction()).str()));
        inst.attrs.push_back(intAttr("axis", {int64_t(c.getAxis())}));
      })
      .Case<AllGatherOp, AllGatherStartOp>([&](auto c) {
        inst.attrs.push_back(strAttr("group", c.getGroup().str()));
        inst.attrs.push_back(intAttr("axis", {int64_t(c.getAxis())}));
      })
      .Case<GroupRankOp>([&](GroupRankOp c) {
        inst.attrs.push_back(strAttr("group", c.getGroup().str()));
      })
      .Case<AllSliceOp>([&](AllSliceOp c) {
        inst.attrs.push_back(strAttr("group", c.getGroup().str()));
        inst.attrs.push_back(intAttr("axis", {int64_t(c.getAxis())}));
      })
      .Case<CumSumOp>([&](CumSumOp c) {
        inst.attrs.push_back(intAttr("axis", {int64_t(c.getAxis())}));
        inst.attrs.push_back(intAttr("exclusive", {int64_t(c.getExclusive())}));
        inst.attrs.push_back(intAttr("reverse", {int64_t(c.getReverse())}));
      })
      .Case<ScatterAddOp>([&](ScatterAddOp s) {
        inst.attrs.push_back(intAttr("axis", {int64_t(s.getAxis())}));
        if (auto skip = s.getSkipIndex())
          inst.attrs.push_back(
              intAttr("skip_index", {static_cast<int64_t>(*skip)}));
      })
      .Case<CrossEntropyOp, CrossEntropyGradOp>([&](auto c) {
        inst.attrs.push_back(intAttr(
            "ignore_index", {static_cast<int64_t>(c.getIgnoreIndex())}));
        inst.attrs.push_back(floatAttr(
            "label_smoothing", c.getLabelSmoothing().convertToDouble()));
      })
      .Case<LinearCrossEntropyOp>([&](LinearCrossEntropyOp l) {
        inst.attrs.push_back(intAttr(
            "ignore_index", {static_cast<int64_t>(l.getIgnoreIndex())}));
        inst.attrs.push_back(floatAttr(
            "label_smoothing", l.getLabelSmoothing().convertToDouble()));
        inst.attrs.push_back(intAttr("weight_in_out", {l.getWeightInOut()}));
        // Both optional operands are scalars: which ones are given.
        inst.attrs.push_back(intAttr("has_count", {l.getCount() != nullptr}));
        inst.attrs.push_back(
            intAttr("has_cotangent", {l.getCotangent() != nullptr}));
      })
      .Case<LrScheduleOp>([&](LrScheduleOp l) {
        inst.attrs.push_back(
            strAttr("schedule", stringifyLrSchedule(l.getSchedule()).str()));
        inst.attrs.push_back(floatAttr("lr", l.getLr().convertToDouble()));
        inst.attrs.push_back(intAttr(
            "warmup_steps", {static_cast<int64_t>(l.getWarmupSteps())}));
        inst.attrs.push_back(
            intAttr("total_steps", {static_cast<int64_t>(l.getTotalSteps())}));
        inst.attrs.push_back(
            floatAttr("num_cycles", l.getNumCycles().convertToDouble()));
      })
      .Case<UpdateLossScaleOp>([&](UpdateLossScaleOp u) {
        inst.attrs.push_back(
            floatAttr("growth_factor", u.getGrowthFactor().convertToDouble()));
        inst.attrs.push_back(floatAttr("backoff_factor",
                                       u.getBackoffFactor().convertToDouble()));
        inst.attrs.push_back(
            intAttr("growth_interval", {u.getGrowthInterval()}));
      })
      .Case<AdamWOp>([&](AdamWOp a) {
        inst.operands = {a.getParam(),     a.getGrad(), a.getExpAvg(),
                         a.getExpAvgSq(),  a.getLr(),   a.getStep(),
                         a.getGradScale(), a.getSkip()};
        inst.attrs.push_back(
            floatAttr("beta1", a.getBeta1().convertToDouble()));
        inst.attrs.push_back(
            floatAttr("beta2", a.getBeta2().convertToDouble()));
        inst.attrs.push_back(
            floatAttr("epsilon", a.getEpsilon().convertToDouble()));
        inst.attrs.push_back(
            floatAttr("weight_decay", a.getWeightDecay().convertToDouble()));
      })
      .Case<SgdOp>([&](SgdOp s) {
        inst.operands = {s.getParam(), s.getGrad(), s.getMomentumBuffer(),
                         s.getLr(),    s.getStep(), s.getGradScale(),
                         s.getSkip()};
        inst.attrs.push_back(
            floatAttr("momentum", s.getMomentum().convertToDouble()));
        inst.attrs.push_back(
            floatAttr("dampening", s.getDampening().convertToDouble()));
        inst.attrs.push_back(
            floatAttr("weight_decay", s.getWeightDecay().convertToDouble()));
        inst.attrs.push_back(intAttr("nesterov", {s.getNesterov()}));
      })
      .Case<ConstantOp>([&](ConstantOp c) {
        c.emitOpError("is data, not an instruction");
        ok = false;
      })
      .Default([&](Operation *) {
        // Elementwise ops, where, cast, broadcast: mnemonic only.
      });
  if (!ok)
    return failure();
  return inst;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<rt::fb::Attr>>>
accel::buildAttrs(flatbuffers::FlatBufferBuilder &builder,
                  const EncodedInstruction &inst) {
  std::vector<flatbuffers::Offset<rt::fb::Attr>> attrs;
  for (const EncodedAttr &a : inst.attrs) {
    auto name = builder.CreateString(a.name);
    // An integer attribute may be an empty list (reduce over no axes).
    bool isInts = a.floats.empty() && !a.str;
    auto ints = isInts ? builder.CreateVector(a.ints) : 0;
    auto floats = a.floats.empty() ? 0 : builder.CreateVector(a.floats);
    auto str = a.str ? builder.CreateString(*a.str) : 0;
    attrs.push_back(rt::fb::CreateAttr(builder, name, ints, floats, str));
  }
  return builder.CreateVector(attrs);
}
