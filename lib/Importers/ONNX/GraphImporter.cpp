//===- GraphImporter.cpp - Building, verifying and folding ops -----------===//
#include "lib/Importers/ONNX/GraphImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace accel;
using namespace accel::onnx;

Value GraphImporter::lookup(const std::string &name) const {
  auto it = values.find(name);
  return it == values.end() ? Value() : it->second;
}

int64_t GraphImporter::opset() const {
  for (const char *domain : {"", "ai.onnx"}) {
    auto it = model.opsetImports.find(domain);
    if (it != model.opsetImports.end())
      return it->second;
  }
  return 0;
}

unsigned GraphImporter::requiredInputs(const std::string &opType) {
  // Inputs every converter reads unconditionally; the rest are optional.
  static const std::map<std::string, unsigned> counts = {
      {"Constant", 0},    {"Where", 3},      {"Slice", 3},
      {"Range", 3},       {"Add", 2},        {"Sub", 2},
      {"Mul", 2},         {"Div", 2},        {"Pow", 2},
      {"MatMul", 2},      {"Gemm", 2},       {"Equal", 2},
      {"Less", 2},        {"LessOrEqual", 2}, {"Greater", 2},
      {"GreaterOrEqual", 2}, {"And", 2},     {"Or", 2},
      {"Xor", 2},         {"CastLike", 2},   {"Reshape", 2},
      {"Expand", 2},      {"Gather", 2},     {"GatherND", 2},
      {"GatherElements", 2}, {"LayerNormalization", 2},
      {"SequenceAt", 2}, {"CumSum", 2},
      {"Attention", 3}, {"RotaryEmbedding", 3}};
  auto it = counts.find(opType);
  return it == counts.end() ? 1 : it->second;
}

LogicalResult GraphImporter::fail(const Node &node, const Twine &message) {
  errorMessage = (fileName + ": node '" + node.name + "' (" + node.opType +
                  ", opset " + Twine(opset()) + "): " + message)
                     .str();
  return failure();
}

std::map<std::string, int> GraphImporter::unsupportedOps(const Graph &graph) {
  std::map<std::string, int> counts;
  for (const Node &node : graph.nodes) {
    bool defaultDomain = node.domain.empty() || node.domain == "ai.onnx";
    if (!defaultDomain)
      ++counts[node.domain + "." + node.opType];
    else if (!converters().count(node.opType))
      ++counts[node.opType];
  }
  return counts;
}

/// "; the model's unsupported ops: IsNaN (2 nodes), Foo (1 node)".
static std::string listUnsupported(const std::map<std::string, int> &ops) {
  std::string out = "; the model's unsupported ops: ";
  bool first = true;
  for (const auto &[op, n] : ops) {
    out += (first ? "" : ", ") + op + " (" + std::to_string(n) +
           (n == 1 ? " node)" : " nodes)");
    first = false;
  }
  return out;
}

/// The module path torch.onnx recorded for a node (the last scope before
/// the node's own name in "['', 'transformer', 'transformer.h.0', ...,
/// 'view_3']"), or "".
static std::string moduleScope(const Node &node) {
  auto it = node.metadata.find("pkg.torch.onnx.name_scopes");
  if (it == node.metadata.end())
    return "";
  std::vector<std::string> scopes;
  const std::string &list = it->second;
  for (size_t open = list.find('\''); open != std::string::npos;) {
    size_t close = list.find('\'', open + 1);
    if (close == std::string::npos)
      break;
    scopes.push_back(list.substr(open + 1, close - open - 1));
    open = list.find('\'', close + 1);
  }
  return scopes.size() >= 2 ? scopes[scopes.size() - 2] : "";
}

LogicalResult GraphImporter::convert(const Node &node) {
  // The node's name, with the module it was traced in as the child
  // location (moduleScopeOf reads it back: recomputation's blocks).
  std::string scope = moduleScope(node);
  loc = NameLoc::get(
      b.getStringAttr(node.name.empty() ? node.opType : node.name),
      scope.empty() ? Location(UnknownLoc::get(b.getContext()))
                    : Location(NameLoc::get(b.getStringAttr(scope))));
  if (!node.domain.empty() && node.domain != "ai.onnx")
    return fail(node, "ops of domain '" + node.domain +
                          "' are not supported" + listUnsupported(unsupported));
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (!node.inputs[i].empty() && !lookup(node.inputs[i]) &&
        !sequences.count(node.inputs[i]))
      return fail(node, "input '" + node.inputs[i] + "' is not defined before "
                        "its use (or has an unsupported type)");
  auto it = converters().find(node.opType);
  if (it == converters().end())
    return fail(node, "unsupported op" + listUnsupported(unsupported));
  unsigned required = requiredInputs(node.opType);
  for (unsigned i = 0; i < required; ++i)
    if (!hasInput(node, i))
      return fail(node, "needs " + Twine(required) + " inputs, input " +
                            Twine(i) + " is missing");

  // Shape and type errors of the ops built surface as diagnostics; keep the
  // first and report it with the node.
  std::string diagnostic;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    if (diagnostic.empty())
      diagnostic = d.str();
    return success();
  });
  if (succeeded((this->*(it->second))(node)))
    return success();
  if (errorMessage.empty())
    return fail(node, diagnostic.empty() ? "cannot be imported" : diagnostic);
  return failure();
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>>
GraphImporter::createMulti(StringRef opName, ValueRange operands,
                           ArrayRef<NamedAttribute> attrs,
                           TypeRange resultTypes) {
  OperationState state(loc, opName);
  state.addOperands(operands);
  state.addAttributes(attrs);
  // Inferred ops get placeholder types, replaced right after creation by
  // what the op's own shape rule says (ODS builders abort on failure).
  bool infer = resultTypes.empty();
  if (infer)
    state.addTypes(NoneType::get(ctx));
  else
    state.addTypes(resultTypes);
  Operation *op = Operation::create(state);
  if (infer) {
    auto iface = dyn_cast<InferTypeOpInterface>(op);
    SmallVector<Type> types;
    if (!iface ||
        failed(iface.inferReturnTypes(ctx, loc, op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(),
                                      op->getRegions(), types))) {
      op->destroy();
      return failure();
    }
    op->getResult(0).setType(types.front());
  }
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->destroy();
    return failure();
  }
  b.insert(op);
  SmallVector<Value> results;
  if (succeeded(b.tryFold(op, results)) && !results.empty()) {
    op->erase();
    return results;
  }
  return SmallVector<Value>(op->getResults());
}

FailureOr<Value> GraphImporter::create(StringRef opName, ValueRange operands,
                                       ArrayRef<NamedAttribute> attrs,
                                       Type resultType) {
  auto results =
      createMulti(opName, operands, attrs,
                  resultType ? TypeRange(resultType) : TypeRange());
  if (failed(results))
    return failure();
  return results->front();
}

Value GraphImporter::constant(DenseElementsAttr value) {
  return ConstantOp::create(b, loc, value.getType(), value);
}

FailureOr<Value> GraphImporter::reshape(Value v, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(v).getElementType());
  if (type == v.getType())
    return v;
  return create<ReshapeOp>(v, {}, type);
}

FailureOr<Value> GraphImporter::castTo(Value v, Type elementType) {
  if (typeOf(v).getElementType() == elementType)
    return v;
  return create<CastOp>(v, {}, typeOf(v).clone(elementType));
}

FailureOr<Value> GraphImporter::broadcastTo(Value v, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(v).getElementType());
  if (type == v.getType())
    return v;
  return create<BroadcastOp>(v, {}, type);
}

Value GraphImporter::input(const Node &node, size_t index) const {
  return hasInput(node, index) ? lookup(node.inputs[index]) : Value();
}

bool GraphImporter::hasInput(const Node &node, size_t index) const {
  return index < node.inputs.size() && !node.inputs[index].empty();
}

FailureOr<DenseElementsAttr> GraphImporter::constantInput(const Node &node,
                                                          size_t index) {
  DenseElementsAttr attr;
  Value v = input(node, index);
  if (!v || !matchPattern(v, m_Constant(&attr))) {
    (void)fail(node, "input " + Twine(index) + " ('" +
                         (index < node.inputs.size() ? node.inputs[index] : "") +
                         "') must be a constant given static input shapes");
    return failure();
  }
  return attr;
}

FailureOr<SmallVector<int64_t>> GraphImporter::intsInput(const Node &node,
                                                         size_t index) {
  FailureOr<DenseElementsAttr> attr = constantInput(node, index);
  if (failed(attr))
    return failure();
  if (!attr->getElementType().isInteger(64) &&
      !attr->getElementType().isInteger(32)) {
    (void)fail(node, "input " + Twine(index) + " must hold integers");
    return failure();
  }
  SmallVector<int64_t> out;
  for (APInt v : attr->getValues<APInt>())
    out.push_back(v.getSExtValue());
  return out;
}

LogicalResult GraphImporter::setOutput(const Node &node, size_t index,
                                       Value v) {
  if (index < node.outputs.size() && !node.outputs[index].empty())
    values[node.outputs[index]] = v;
  return success();
}

int64_t GraphImporter::attrInt(const Node &node, const char *name,
                               int64_t dflt) const {
  const onnx::Attribute *a = node.attr(name);
  return a ? a->i : dflt;
}

float GraphImporter::attrFloat(const Node &node, const char *name,
                               float dflt) const {
  const onnx::Attribute *a = node.attr(name);
  return a ? a->f : dflt;
}

Type GraphImporter::elementType(int32_t onnxType) const {
  switch (static_cast<ElemType>(onnxType)) {
  case ElemType::Float: return b.getF32Type();
  case ElemType::Double: return b.getF64Type();
  case ElemType::Float16: return b.getF16Type();
  case ElemType::BFloat16: return b.getBF16Type();
  case ElemType::Int64: return b.getI64Type();
  case ElemType::Int32: return b.getI32Type();
  case ElemType::Int16: return b.getI16Type();
  case ElemType::Int8: return b.getI8Type();
  case ElemType::Uint8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case ElemType::Bool: return b.getI1Type();
  default: return {};
  }
}

FailureOr<DenseElementsAttr> GraphImporter::tensorAttr(const Tensor &t) {
  Type element = elementType(t.elemType);
  if (!element)
    return failure();
  auto type = RankedTensorType::get(t.dims, element);
  if (element.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : t.bytes)
      bits.push_back(c != 0);
    return DenseElementsAttr::get(type, bits);
  }
  bool splat = false;
  if (!DenseElementsAttr::isValidRawBuffer(type, ArrayRef<char>(t.bytes.data(), t.bytes.size()), splat))
    return failure();
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(t.bytes.data(), t.bytes.size()));
}
