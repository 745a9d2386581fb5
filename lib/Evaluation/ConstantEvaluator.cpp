//===- ConstantEvaluator.cpp - Folding accel ops with runtime kernels ----===//
#include "accel/Evaluation/ConstantEvaluator.h"
#include "accel/runtime/KernelRegistry.h"
#include "dialects/Accel/AccelOps.h"
#include "lib/Target/Executable/InstructionEncoding.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FoldInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <cstring>

using namespace mlir;
using namespace accel;

namespace {

/// A tensor's bytes in the runtime's layout (i1 as one byte each).
struct HostTensor {
  std::vector<uint8_t> bytes;
  rt::TensorView view;
};

bool toHost(DenseElementsAttr attr, HostTensor &out) {
  auto type = cast<RankedTensorType>(attr.getType());
  std::optional<uint8_t> dtype = encodeDType(type.getElementType());
  if (!dtype)
    return false;
  int64_t n = type.getNumElements();
  size_t elementBytes = rt::dtypeSize(rt::DType(*dtype));
  out.bytes.resize(std::max<size_t>(n * elementBytes, 1));
  if (type.getElementType().isInteger(1)) {
    int64_t i = 0;
    for (bool b : attr.getValues<bool>())
      out.bytes[i++] = b;
  } else {
    ArrayRef<char> raw = attr.getRawData();
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(out.bytes.data() + i * elementBytes,
                  raw.data() + (attr.isSplat() ? 0 : i * elementBytes),
                  elementBytes);
  }
  out.view.data = out.bytes.data();
  out.view.dtype = rt::DType(*dtype);
  out.view.shape.assign(type.getShape().begin(), type.getShape().end());
  return true;
}

DenseElementsAttr fromHost(const HostTensor &t, RankedTensorType type) {
  if (type.getElementType().isInteger(1)) {
    SmallVector<bool> values(t.bytes.begin(),
                             t.bytes.begin() + type.getNumElements());
    return DenseElementsAttr::get(type, values);
  }
  size_t bytes = type.getNumElements() * rt::dtypeSize(t.view.dtype);
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(t.bytes.data()),
                           bytes));
}

struct AccelConstantFolder : DialectFoldInterface {
  using DialectFoldInterface::DialectFoldInterface;
  LogicalResult fold(Operation *op, ArrayRef<Attribute> operands,
                     SmallVectorImpl<OpFoldResult> &results) const final {
    return evaluateConstantOp(op, operands, results);
  }
};

} // namespace

LogicalResult
accel::evaluateConstantOp(Operation *op, ArrayRef<Attribute> operands,
                          SmallVectorImpl<OpFoldResult> &results,
                          int64_t maxElements) {
  // A collective's value depends on the other ranks: never a constant
  // (collectives are the ops with effects).
  if (isa<ConstantOp>(op) || !isMemoryEffectFree(op) ||
      op->getNumResults() == 0)
    return failure();
  for (Type t : op->getResultTypes()) {
    auto r = dyn_cast<RankedTensorType>(t);
    if (!r || !r.hasStaticShape() || r.getNumElements() > maxElements)
      return failure();
  }
  // Map operand positions to host tensors; every operand must be constant.
  DenseMap<Value, size_t> operandIndex;
  std::vector<HostTensor> hostOperands(op->getNumOperands());
  for (auto [i, attr] : llvm::enumerate(operands)) {
    auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
    if (!dense || !toHost(dense, hostOperands[i]))
      return failure();
    operandIndex[op->getOperand(i)] = i;
  }

  // Encoding may emit a diagnostic for unsupported ops; folding is only an
  // attempt, so silence it.
  ScopedDiagnosticHandler silence(op->getContext(),
                                  [](Diagnostic &) { return success(); });
  FailureOr<EncodedInstruction> inst = encodeInstruction(op);
  if (failed(inst))
    return failure();

  flatbuffers::FlatBufferBuilder b;
  auto attrs = buildAttrs(b, *inst);
  std::vector<int> operandSlots, resultSlots;
  for (size_t i = 0; i < inst->operands.size(); ++i)
    operandSlots.push_back(inst->operands[i] ? int(i) : -1);
  for (size_t i = 0; i < op->getNumResults(); ++i)
    resultSlots.push_back(int(i));
  b.Finish(rt::fb::CreateInstruction(
      b, b.CreateString(inst->kernel), b.CreateVector(operandSlots),
      b.CreateVector(resultSlots), attrs));
  const auto *fbInst = flatbuffers::GetRoot<rt::fb::Instruction>(
      b.GetBufferPointer());

  std::vector<rt::TensorView> kernelOperands;
  for (Value v : inst->operands)
    kernelOperands.push_back(v ? hostOperands[operandIndex[v]].view
                               : rt::TensorView{});
  std::vector<HostTensor> hostResults(op->getNumResults());
  std::vector<rt::TensorView> kernelResults;
  for (auto [i, t] : llvm::enumerate(op->getResultTypes())) {
    auto type = cast<RankedTensorType>(t);
    std::optional<uint8_t> dtype = encodeDType(type.getElementType());
    if (!dtype)
      return failure();
    HostTensor &h = hostResults[i];
    h.view.dtype = rt::DType(*dtype);
    h.view.shape.assign(type.getShape().begin(), type.getShape().end());
    h.bytes.resize(std::max<size_t>(h.view.bytes(), 1));
    h.view.data = h.bytes.data();
    kernelResults.push_back(h.view);
  }
  try {
    rt::ThreadPool pool(1);
    rt::KernelContext context{pool};
    rt::bindKernel(*fbInst)(kernelOperands, kernelResults, context);
  } catch (const std::exception &) {
    // An error at fold time (say, an out-of-range index) is left for the
    // runtime to report with the input that triggers it.
    return failure();
  }
  for (auto [i, t] : llvm::enumerate(op->getResultTypes()))
    results.push_back(fromHost(hostResults[i], cast<RankedTensorType>(t)));
  return success();
}

std::optional<DenseElementsAttr>
accel::evaluateConstantValue(Value v, int64_t maxElements) {
  DenseElementsAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr;
  Operation *op = v.getDefiningOp();
  if (!op || !isa<AccelDialect>(op->getDialect()))
    return std::nullopt;
  SmallVector<Attribute> operands;
  for (Value operand : op->getOperands()) {
    std::optional<DenseElementsAttr> c =
        evaluateConstantValue(operand, maxElements);
    if (!c)
      return std::nullopt;
    operands.push_back(*c);
  }
  SmallVector<OpFoldResult> results;
  if (failed(evaluateConstantOp(op, operands, results, maxElements)))
    return std::nullopt;
  return cast<DenseElementsAttr>(
      cast<Attribute>(results[cast<OpResult>(v).getResultNumber()]));
}

void accel::registerConstantEvaluation(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, AccelDialect *dialect) {
    dialect->addInterfaces<AccelConstantFolder>();
  });
}
