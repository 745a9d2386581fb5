//===- ModelValidity.cpp - What onnx.checker requires of a model ----------===//
#include "lib/Importers/ONNX/ModelValidity.h"

#include <map>
#include <set>

using namespace accel::onnx;

namespace {

std::string describe(const Node &node) {
  return "node '" + node.name + "' (" + node.opType + ")";
}

/// Values in order of definition: each defined once, each use after its
/// definition. `defined` starts with the scope's inputs.
bool checkNodes(const std::vector<Node> &nodes,
                std::map<std::string, std::string> &defined,
                const std::string &scope, std::string &error) {
  for (const Node &node : nodes) {
    for (const std::string &in : node.inputs)
      if (!in.empty() && !defined.count(in)) {
        error = scope + describe(node) + ": input '" + in +
                "' is not defined before it (not a graph input, an "
                "initializer or the output of an earlier node)";
        return false;
      }
    for (const std::string &out : node.outputs) {
      if (out.empty())
        continue; // an optional output left out
      auto [it, fresh] = defined.emplace(out, describe(node));
      if (!fresh) {
        error = scope + describe(node) + ": output '" + out +
                "' is already defined by " + it->second +
                " (an ONNX graph defines each value once)";
        return false;
      }
    }
  }
  return true;
}

} // namespace

bool accel::onnx::checkModelValidity(const Model &model, std::string &error) {
  for (const auto &[domain, version] : model.opsetImports) {
    if (!domain.empty())
      continue; // other domains are checked op by op
    if (version < kOldestOpset || version > kNewestOpset) {
      error = "default-domain opset " + std::to_string(version) +
              " is not supported (accel imports opsets " +
              std::to_string(kOldestOpset) + " to " +
              std::to_string(kNewestOpset) +
              (version < kOldestOpset
                   ? "; export with opset_version=17 or newer)"
                   : ", the newest of the ONNX release it was checked "
                     "against)");
      return false;
    }
  }
  if (!model.opsetImports.count("")) {
    error = "the model imports no default-domain (ai.onnx) opset; models "
            "of other domains only (ai.onnx.ml, training) are not supported";
    return false;
  }

  const Graph &g = model.graph;
  std::map<std::string, std::string> defined;
  std::set<std::string> inputNames;
  for (const ValueInfo &in : g.inputs) {
    if (!inputNames.insert(in.name).second) {
      error = "graph input '" + in.name + "' is listed twice";
      return false;
    }
    defined.emplace(in.name, "graph input");
  }
  std::set<std::string> initializerNames;
  for (const Tensor &t : g.initializers) {
    if (!initializerNames.insert(t.name).second) {
      error = "initializer '" + t.name + "' is listed twice";
      return false;
    }
    // An initializer may also be listed as a graph input (its default
    // value, IR version < 4 style).
    defined.emplace(t.name, "initializer");
  }
  if (!checkNodes(g.nodes, defined, "", error))
    return false;
  // A value listed twice as an output is legal (onnxruntime returns it
  // twice); one nothing defines is not.
  for (const ValueInfo &out : g.outputs)
    if (!defined.count(out.name)) {
      error = "graph output '" + out.name +
              "' is not defined by any node, input or initializer";
      return false;
    }
  for (const Function &f : model.functions) {
    std::map<std::string, std::string> scope;
    for (const std::string &in : f.inputs)
      if (!scope.emplace(in, "function input").second) {
        error = "function '" + f.name + "': input '" + in + "' is listed twice";
        return false;
      }
    if (!checkNodes(f.nodes, scope, "function '" + f.name + "': ", error))
      return false;
  }
  return true;
}
