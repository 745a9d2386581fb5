//===- InitializerRoles.cpp - Which initializers are parameters ----------===//
#include "lib/Importers/ONNX/InitializerRoles.h"

#include <regex>
#include <set>

using namespace accel::onnx;

namespace {

/// What the torch exporter (torch.onnx.export with dynamo=True, the default)
/// writes on the value info of each lifted input: its kind in the
/// ExportedProgram's graph signature (PARAMETER, BUFFER, CONSTANT_TENSOR),
/// whether a buffer is persistent (in the state dict), and its FX name.
constexpr const char *kKindKey =
    "pkg.torch.export.graph_signature.InputSpec.kind";
constexpr const char *kPersistentKey =
    "pkg.torch.export.graph_signature.InputSpec.persistent";
constexpr const char *kFxNameKey = "pkg.torch.onnx.original_node_name";
/// Each node's FX node, printed: "... = call_function[...](args = (%x,
/// %p_lin_weight, %p_lin_bias), ...)". Parameters are the "%p_" names.
constexpr const char *kFxNodeKey = "pkg.torch.onnx.fx_node";

bool isFloat(int32_t t) {
  auto e = static_cast<ElemType>(t);
  return e == ElemType::Float || e == ElemType::Double ||
         e == ElemType::Float16 || e == ElemType::BFloat16;
}

int64_t numElements(const Tensor &t) {
  int64_t n = 1;
  for (int64_t d : t.dims)
    n *= d;
  return n;
}

/// Names the TorchScript exporter and others give to tensors they make
/// ("onnx::Div_12", "val_3", "/attn/Constant_output_0"), as opposed to
/// module paths ("h.0.attn.c_attn.weight").
bool isExporterName(const std::string &name) {
  return name.find("::") != std::string::npos ||
         name.find('/') != std::string::npos || name.rfind("val_", 0) == 0 ||
         name.rfind("_val", 0) == 0 || name.find('.') == std::string::npos;
}

const std::string *lookup(const Metadata &m, const char *key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

/// The metadata the exporter attached to initializer `t`: on its value info
/// (where the torch exporter puts it) or on the tensor itself.
Metadata metadataOf(const Tensor &t,
                    const std::map<std::string, const ValueInfo *> &infos) {
  Metadata m = t.metadata;
  auto it = infos.find(t.name);
  if (it != infos.end())
    m.insert(it->second->metadata.begin(), it->second->metadata.end());
  return m;
}

std::string quoteList(const std::vector<std::string> &names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i)
    out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > 3)
    out += ", ...";
  return out;
}

} // namespace

InitializerRoles accel::onnx::classifyInitializers(const Model &model,
                                                   const std::string &path) {
  const Graph &graph = model.graph;
  std::map<std::string, const ValueInfo *> infos;
  for (const ValueInfo &vi : graph.valueInfo)
    infos[vi.name] = &vi;
  for (const ValueInfo &vi : graph.inputs)
    infos.emplace(vi.name, &vi);

  InitializerRoles result;
  std::vector<Metadata> metadata;
  for (const Tensor &t : graph.initializers) {
    metadata.push_back(metadataOf(t, infos));
    result.recorded |= lookup(metadata.back(), kKindKey) != nullptr;
  }

  if (!result.recorded) {
    // No record (the TorchScript exporter, other producers): float tensors
    // named like module paths, or too large to be an exporter's scalar, are
    // taken as weights; the training step then asks which of them train.
    for (const Tensor &t : graph.initializers) {
      bool exporterConstant = numElements(t) <= 64 && isExporterName(t.name) &&
                              t.name != "weight" && t.name != "bias";
      result.roles[t.name] = isFloat(t.elemType) && !exporterConstant
                                 ? InitializerRole::Parameter
                                 : InitializerRole::Constant;
    }
    return result;
  }

  // The torch exporter's record. Every initializer of an unoptimized export
  // carries its kind; one without was made by the exporter's ONNX optimizer
  // (a folded or transposed weight, a folded mask).
  std::vector<std::string> derived;
  std::set<std::string> presentParameters; // FX names ("p_lin_weight")
  for (size_t i = 0; i < graph.initializers.size(); ++i) {
    const Tensor &t = graph.initializers[i];
    const std::string *kind = lookup(metadata[i], kKindKey);
    const std::string *persistent = lookup(metadata[i], kPersistentKey);
    InitializerRole role = InitializerRole::Constant;
    if (!kind) {
      derived.push_back(t.name);
    } else if (*kind == "PARAMETER") {
      if (const std::string *fx = lookup(metadata[i], kFxNameKey))
        presentParameters.insert(*fx);
      if (isFloat(t.elemType))
        role = InitializerRole::Parameter;
    } else if (*kind == "BUFFER" && persistent && *persistent == "True" &&
               isFloat(t.elemType)) {
      // Saved with the model (as transformers saves persistent buffers);
      // integer and non-persistent buffers are index tables and caches
      // the model recomputes: constants.
      role = InitializerRole::Buffer;
    }
    result.roles[t.name] = role;
  }
  // Parameters the FX graph used that are no initializer any more: merged
  // with an equal one or removed (a zero bias) by the optimizer.
  std::vector<std::string> lost;
  static const std::regex parameterRef("%(p_[A-Za-z0-9_]+)");
  std::set<std::string> seen;
  for (const Node &node : graph.nodes) {
    const std::string *fx = lookup(node.metadata, kFxNodeKey);
    if (!fx)
      continue;
    for (std::sregex_iterator it(fx->begin(), fx->end(), parameterRef), end;
         it != end; ++it) {
      std::string name = (*it)[1];
      if (!presentParameters.count(name) && seen.insert(name).second)
        lost.push_back(name);
    }
  }
  if (!derived.empty() || !lost.empty()) {
    std::string what;
    if (!derived.empty())
      what += std::to_string(derived.size()) +
              " initializers it derived from others (" + quoteList(derived) +
              ")";
    if (!lost.empty())
      what += std::string(what.empty() ? "" : "; ") +
              std::to_string(lost.size()) +
              " parameters it merged or removed (" + quoteList(lost) + ")";
    result.untrainable =
        path + " was exported with the ONNX optimizer on "
               "(torch.onnx.export's default optimize=True), which changed "
               "the model's parameters: " +
        what +
        ". It imports for inference; to train it, export with "
        "torch.onnx.export(..., optimize=False)";
  }
  return result;
}
