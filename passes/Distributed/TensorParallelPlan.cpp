//===- TensorParallelPlan.cpp - Which parameters split over tp ------------===//
#include "passes/Distributed/TensorParallelPlan.h"
#include "dialects/Accel/AccelOps.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

namespace accel {

TensorParallelRole tensorParallelRole(StringRef name) {
  // The module's own name: "model.layers.0.mlp.up_proj.weight" -> "up_proj".
  StringRef module = name;
  if (module.ends_with(".weight") || module.ends_with(".bias"))
    module = module.rsplit('.').first;
  if (size_t dot = module.rfind('.'); dot != StringRef::npos)
    module = module.drop_front(dot + 1);
  // GPT-2's fused c_attn puts q|k|v side by side: a contiguous block of it
  // would hand one rank all of q and half of k, so it is split per part.
  return llvm::StringSwitch<TensorParallelRole>(module)
      .Cases({"q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "c_fc",
              "fc1", "query", "key", "value", "w1", "w3", "lm_head"},
             TensorParallelRole::Column)
      .Cases({"o_proj", "down_proj", "c_proj", "fc2", "out_proj", "w2"},
             TensorParallelRole::Row)
      .Cases({"embed_tokens", "wte", "word_embeddings"},
             TensorParallelRole::Vocabulary)
      .Case("c_attn", TensorParallelRole::FusedColumn)
      .Default(TensorParallelRole::Replicated);
}

StringRef roleName(TensorParallelRole role) {
  switch (role) {
  case TensorParallelRole::Column:
    return "column parallel";
  case TensorParallelRole::Row:
    return "row parallel";
  case TensorParallelRole::Vocabulary:
    return "vocabulary parallel";
  case TensorParallelRole::FusedColumn:
    return "column parallel per fused part";
  case TensorParallelRole::Replicated:
    break;
  }
  return "replicated";
}

Value readParameter(Value v) {
  if (auto cast = v.getDefiningOp<CastOp>())
    return cast.getOperand();
  return v;
}

int64_t tensorParallelDim(Value param, StringRef name,
                          TensorParallelRole role) {
  // A fused projection is stored whole; its parts split (accel-shard).
  if (role == TensorParallelRole::Replicated ||
      role == TensorParallelRole::FusedColumn)
    return -1;
  if (role == TensorParallelRole::Vocabulary)
    return 0; // the embedding table's rows
  bool bias = name.ends_with(".bias");
  if (bias)
    return role == TensorParallelRole::Column ? 0 : -1;
  // The first user in op order is the forward pass's; the backward reads
  // the same weight transposed.
  auto firstUser = [](Value v) {
    Operation *first = nullptr;
    for (Operation *user : v.getUsers())
      if (!first || user->isBeforeInBlock(first))
        first = user;
    return first;
  };
  Operation *first = firstUser(param);
  if (auto cast = dyn_cast_or_null<CastOp>(first)) {
    param = cast.getResult();
    first = firstUser(param);
  }
  bool inOut = false;
  if (auto linear = dyn_cast_or_null<LinearOp>(first)) {
    if (linear.getWeight() != param)
      return -1;
    inOut = linear.getWeightInOut();
  } else if (auto head = dyn_cast_or_null<LinearCrossEntropyOp>(first)) {
    if (head.getWeight() != param)
      return -1;
    inOut = head.getWeightInOut();
  } else if (auto gather = dyn_cast_or_null<GatherOp>(first)) {
    // A head tied to the embedding: the table's rows are the vocabulary.
    bool table = gather.getOperand() == param;
    return table && role == TensorParallelRole::Column ? gather.getAxis() : -1;
  } else {
    return -1;
  }
  // [out, in], or [in, out] read transposed.
  bool output = role == TensorParallelRole::Column;
  return output != inOut ? 0 : 1;
}

} // namespace accel
