//===- GradientMemory.cpp - Gradient bytes a compiled step holds ---------===//
#include "accel/runtime/GradientMemory.h"
#include "accel/runtime/Tensor.h"
#include "accel/runtime/schema/executable_generated.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace accel::rt {

namespace {

/// Kernels that move or communicate a gradient without computing it: the
/// walk back from an update's gradient goes through them.
const std::set<std::string> kCarriers = {
    "copy",           "wait",
    "split",          "concat",
    "all_reduce",     "all_reduce_start",
    "reduce_scatter", "reduce_scatter_start",
    "all_slice"};

} // namespace

int64_t peakGradientBytes(const fb::Function &step) {
  if (!step.values() || !step.instructions())
    return 0;
  const auto &values = *step.values();
  const auto &instructions = *step.instructions();
  int n = static_cast<int>(values.size());
  // Aliases (reshapes, in-place results) are their root's bytes.
  auto root = [&](int v) {
    while (v >= 0 && values.Get(v)->storage() == fb::Storage::Alias)
      v = values.Get(v)->alias_of();
    return v;
  };
  std::vector<int> producer(n, -1), lastUse(n, -1);
  for (int i = 0; i < static_cast<int>(instructions.size()); ++i) {
    const fb::Instruction &inst = *instructions.Get(i);
    if (inst.results())
      for (int r : *inst.results())
        if (r >= 0) {
          producer[r] = i;
          int base = root(r);
          if (base >= 0 && producer[base] < 0)
            producer[base] = i;
        }
    if (inst.operands())
      for (int o : *inst.operands())
        if (o >= 0)
          lastUse[root(o)] = std::max(lastUse[root(o)], i);
  }
  if (step.outputs())
    for (int o : *step.outputs())
      if (o >= 0)
        lastUse[root(o)] = static_cast<int>(instructions.size());

  std::set<int> gradients;
  std::vector<int> work;
  for (const fb::Instruction *inst : instructions) {
    std::string kernel = inst->kernel() ? inst->kernel()->str() : "";
    if ((kernel == "adamw" || kernel == "sgd") && inst->operands() &&
        inst->operands()->size() > 1)
      work.push_back(inst->operands()->Get(1));
  }
  while (!work.empty()) {
    int v = work.back();
    work.pop_back();
    if (v < 0 || !gradients.insert(v).second)
      continue;
    work.push_back(values.Get(v)->alias_of());
    int at = producer[v];
    if (at < 0)
      continue;
    const fb::Instruction &inst = *instructions.Get(at);
    if (inst.kernel() && kCarriers.count(inst.kernel()->str()) &&
        inst.operands())
      for (int o : *inst.operands())
        work.push_back(o);
  }

  // Each gradient buffer of the arena (aliases share their root's) with
  // the instructions it is live across.
  struct Live {
    int64_t bytes;
    int from, to;
  };
  std::map<int, Live> buffers;
  for (int v : gradients) {
    int base = root(v);
    if (base < 0 || values.Get(base)->storage() != fb::Storage::Arena)
      continue;
    const fb::Value &value = *values.Get(base);
    int64_t elements = 1;
    if (value.shape())
      for (int64_t d : *value.shape())
        elements *= d;
    buffers[base] = {elements *
                         static_cast<int64_t>(dtypeSize(DType(value.dtype()))),
                     producer[base], std::max(producer[base], lastUse[base])};
  }
  int64_t peak = 0;
  for (int i = 0; i < static_cast<int>(instructions.size()); ++i) {
    int64_t now = 0;
    for (const auto &[value, live] : buffers)
      if (live.from <= i && i <= live.to)
        now += live.bytes;
    peak = std::max(peak, now);
  }
  return peak;
}

} // namespace accel::rt
