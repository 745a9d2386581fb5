//===- ExecutableWriter.cpp - accel IR to the runtime's executable -------===//
#include "accel/Target/ExecutableWriter.h"
#include "accel/runtime/ExecutableChecksum.h"
#include "accel/runtime/Executable.h"
#include "dialects/Accel/AccelOps.h"
#include "lib/Target/Executable/InstructionEncoding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace accel;
namespace fb = accel::rt::fb;

namespace {

/// "node 'embed'" for an op imported from an ONNX node, file:line:col for
/// one written by hand.
std::string locationString(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return "node '" + name.getName().str() + "'";
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (file.getFilename().str() + ":" + std::to_string(file.getLine()) +
            ":" + std::to_string(file.getColumn()));
  std::string s;
  llvm::raw_string_ostream os(s);
  loc.print(os);
  return s;
}

/// FlatBuffers' limit (2^31 - 1) less room for the tables around the
/// constants.
constexpr size_t kMaxExecutableBytes = (size_t(1) << 31) - (size_t(1) << 24);

/// Little-endian bytes of a constant, one byte per i1.
std::vector<uint8_t> constantBytes(DenseElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  int64_t n = type.getNumElements();
  if (type.getElementType().isInteger(1)) {
    std::vector<uint8_t> out;
    for (bool b : attr.getValues<bool>())
      out.push_back(b);
    return out;
  }
  ArrayRef<char> raw = attr.getRawData();
  size_t elementBytes = type.getElementTypeBitWidth() / 8;
  std::vector<uint8_t> out(n * elementBytes);
  for (int64_t i = 0; i < n; ++i) {
    size_t from = attr.isSplat() ? 0 : i * elementBytes;
    std::memcpy(out.data() + i * elementBytes, raw.data() + from, elementBytes);
  }
  return out;
}

class FunctionWriter {
public:
  FunctionWriter(flatbuffers::FlatBufferBuilder &b,
                 std::vector<flatbuffers::Offset<fb::ConstantData>> &constants)
      : b(b), constants(constants) {}

  FailureOr<flatbuffers::Offset<fb::Function>> write(func::FuncOp func) {
    auto arenaSize = func->getAttrOfType<IntegerAttr>(kArenaSizeAttr);
    if (!arenaSize)
      return func.emitOpError("has no memory plan; run accel-lower-to-runtime "
                              "(or accel-plan-buffers) first");
    std::vector<int> params, inputs, outputs, updates;
    std::vector<flatbuffers::Offset<flatbuffers::String>> outputNames;

    llvm::StringMap<int> stateIndex; // parameter or state name -> value
    for (BlockArgument arg : func.getArguments()) {
      unsigned i = arg.getArgNumber();
      // Parameters and buffers are both weights to the runtime: loaded from
      // safetensors and saved with the model.
      auto param = func.getArgAttrOfType<StringAttr>(i, kParamAttr);
      if (!param)
        param = func.getArgAttrOfType<StringAttr>(i, kBufferAttr);
      auto state = func.getArgAttrOfType<StringAttr>(i, kStateAttr);
      auto input = func.getArgAttrOfType<StringAttr>(i, kInputAttr);
      StringAttr name = param ? param : state ? state : input;
      if (!name)
        return func.emitOpError("argument ")
               << i << " is neither an accel.param, an accel.buffer, an "
               << "accel.state nor an accel.input";
      fb::Storage storage = param   ? fb::Storage::Parameter
                            : state ? fb::Storage::State
                                    : fb::Storage::Input;
      std::vector<std::string> split;
      if (auto axes = func.getArgAttrOfType<ArrayAttr>(i, kSplitAttr))
        for (StringRef axis : axes.getAsValueRange<StringAttr>())
          split.push_back(axis.str());
      double initial = 0;
      if (auto init = func.getArgAttrOfType<FloatAttr>(i, kInitialAttr))
        initial = init.getValueAsDouble();
      FailureOr<int> index = addValue(arg, func.getLoc(), name, storage, 0, -1,
                                      -1, split, initial);
      if (failed(index))
        return failure();
      if (input)
        inputs.push_back(*index);
      else
        stateIndex[name] = *index;
      if (param)
        params.push_back(*index);
    }

    for (Operation &op : func.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
          outputs.push_back(indexOf.lookup(v));
          auto name = func.getResultAttrOfType<StringAttr>(i, kOutputAttr);
          auto update = func.getResultAttrOfType<StringAttr>(i, kUpdateAttr);
          if (update && !stateIndex.count(update))
            return func.emitOpError("result ")
                   << i << " updates '" << update.getValue()
                   << "', which is no accel.param or accel.state argument";
          updates.push_back(update ? stateIndex[update] : -1);
          outputNames.push_back(b.CreateString(
              name ? name.str()
                   : update ? update.str() : "output_" + std::to_string(i)));
        }
        continue;
      }
      if (failed(writeOp(op)))
        return failure();
    }

    EncodedInstruction metadata;
    if (auto dict = func->getAttrOfType<DictionaryAttr>(kMetadataAttr))
      for (NamedAttribute entry : dict) {
        std::string key = entry.getName().str();
        if (auto i = dyn_cast<IntegerAttr>(entry.getValue()))
          metadata.attrs.push_back({key, {i.getInt()}, {}, std::nullopt});
        else if (auto f = dyn_cast<FloatAttr>(entry.getValue()))
          metadata.attrs.push_back({key, {}, {f.getValueAsDouble()}, std::nullopt});
        else if (auto str = dyn_cast<StringAttr>(entry.getValue()))
          metadata.attrs.push_back({key, {}, {}, str.str()});
        else
          return func.emitOpError("metadata '")
                 << key << "' is not an integer, a float or a string";
      }
    auto name = b.CreateString(func.getSymName().str());
    return fb::CreateFunction(
        b, name, b.CreateVector(values), b.CreateVector(params),
        b.CreateVector(inputs), b.CreateVector(outputs),
        b.CreateVector(outputNames), b.CreateVector(updates),
        b.CreateVector(instructions), arenaSize.getInt(),
        buildAttrs(b, metadata));
  }

private:
  FailureOr<int> addValue(Value v, Location loc, StringRef name,
                          fb::Storage storage, int64_t offset = 0,
                          int constant = -1, int aliasOf = -1,
                          const std::vector<std::string> &split = {},
                          double initial = 0) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape())
      return emitError(loc) << "value of type " << v.getType()
                            << " needs a static shape to run";
    std::optional<uint8_t> dtype = encodeDType(type.getElementType());
    if (!dtype)
      return emitError(loc) << "element type " << type.getElementType()
                            << " has no runtime counterpart";
    // The runtime's bound on one tensor (as its loader checks): a shape
    // past it is a mistake (an --input-shape typo), not a model.
    int64_t bytes = (type.getElementTypeBitWidth() + 7) / 8;
    for (int64_t d : type.getShape())
      if (__builtin_mul_overflow(bytes, d, &bytes) || bytes > (int64_t(1) << 48))
        return emitError(loc) << "value of type " << v.getType()
                              << " holds more than 2^48 bytes, the runtime's "
                                 "bound on one tensor";
    int index = static_cast<int>(values.size());
    values.push_back(fb::CreateValue(
        b, b.CreateString(name.str()), *dtype,
        b.CreateVector(std::vector<int64_t>(type.getShape().begin(),
                                            type.getShape().end())),
        storage, offset, constant, aliasOf,
        split.empty() ? 0 : b.CreateVectorOfStrings(split), initial));
    indexOf[v] = index;
    return index;
  }

  LogicalResult writeOp(Operation &op) {
    if (auto c = dyn_cast<ConstantOp>(op)) {
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!dense)
        return c.emitOpError("needs a dense value to be serialized");
      // A FlatBuffer holds less than 2 GiB; constants are most of it.
      auto type = cast<ShapedType>(c.getType());
      std::optional<int64_t> need =
          tensorBytes(type.getShape(), type.getElementType());
      if (!need || b.GetSize() + size_t(*need) > kMaxExecutableBytes)
        return c.emitOpError("would take the executable past ")
               << kMaxExecutableBytes
               << " bytes, the most its format holds; the model's "
                  "constants are too large together";
      std::vector<uint8_t> bytes = constantBytes(dense);
      b.ForceVectorAlignment(bytes.size(), 1, 64);
      auto data = b.CreateVector(bytes);
      constants.push_back(fb::CreateConstantData(b, data));
      return addValue(c.getResult(), c.getLoc(), "", fb::Storage::Constant, 0,
                      static_cast<int>(constants.size()) - 1);
    }
    auto offsets = op.getAttrOfType<DenseI64ArrayAttr>(kOffsetsAttr);
    if (!offsets || offsets.size() != static_cast<int64_t>(op.getNumResults()))
      return op.emitOpError("has no buffer plan (accel.offsets)");

    if (auto reshape = dyn_cast<ReshapeOp>(op); reshape && offsets[0] == -1)
      return addValue(reshape.getResult(), op.getLoc(), "", fb::Storage::Alias,
                      0, -1, indexOf.lookup(reshape.getOperand()));

    FailureOr<EncodedInstruction> inst = encodeInstruction(&op);
    if (failed(inst))
      return failure();
    std::vector<int> operands, results;
    for (Value v : inst->operands)
      operands.push_back(v ? indexOf.lookup(v) : -1);
    auto inPlace = dyn_cast<InPlaceOpInterface>(op);
    for (auto [i, result] : llvm::enumerate(op.getResults())) {
      // Planned in place: the result is the bytes of its tied operand.
      Value tied = offsets[i] == -1 && inPlace ? inPlace.getTiedOperand(i)
                                               : Value();
      if (offsets[i] == -1 && !tied)
        return op.emitOpError("result ")
               << i << " has no buffer and no operand to write over";
      FailureOr<int> index =
          tied ? addValue(result, op.getLoc(), "", fb::Storage::Alias, 0, -1,
                          indexOf.lookup(tied))
               : addValue(result, op.getLoc(), "", fb::Storage::Arena,
                          offsets[i]);
      if (failed(index))
        return failure();
      results.push_back(*index);
    }
    instructions.push_back(fb::CreateInstruction(
        b, b.CreateString(inst->kernel), b.CreateVector(operands),
        b.CreateVector(results), buildAttrs(b, *inst),
        b.CreateString(locationString(op.getLoc()))));
    return success();
  }

  flatbuffers::FlatBufferBuilder &b;
  std::vector<flatbuffers::Offset<fb::ConstantData>> &constants;
  std::vector<flatbuffers::Offset<fb::Value>> values;
  std::vector<flatbuffers::Offset<fb::Instruction>> instructions;
  DenseMap<Value, int> indexOf;
};

} // namespace

LogicalResult accel::writeExecutable(ModuleOp module,
                                     std::vector<uint8_t> &bytes) {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  std::vector<flatbuffers::Offset<fb::ConstantData>> constants;
  std::vector<flatbuffers::Offset<fb::Function>> functions;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    FunctionWriter writer(b, constants);
    FailureOr<flatbuffers::Offset<fb::Function>> f = writer.write(func);
    if (failed(f))
      return failure();
    functions.push_back(*f);
  }
  if (functions.empty())
    return module.emitError("no function to write into the executable");
  auto producer = b.CreateString("accel");
  auto functionVector = b.CreateVector(functions);
  auto constantVector = b.CreateVector(constants);
  b.ForceDefaults(true); // the checksum field is written while still 0
  auto exe = fb::CreateExecutable(b, rt::kFormatVersion, producer,
                                  functionVector, constantVector);
  fb::FinishExecutableBuffer(b, exe);
  bytes.assign(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  if (!rt::sealExecutable(bytes.data(), bytes.size()))
    return module.emitError("the executable has no checksum field");
  return success();
}

void accel::registerExecutableTranslation() {
  TranslateFromMLIRRegistration reg(
      "mlir-to-executable",
      "Serialize planned accel IR as a runtime executable (.accx)",
      [](Operation *op, raw_ostream &os) -> LogicalResult {
        auto module = dyn_cast<ModuleOp>(op);
        if (!module)
          return op->emitError("expects a module");
        std::vector<uint8_t> bytes;
        if (failed(writeExecutable(module, bytes)))
          return failure();
        os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
        return success();
      },
      [](DialectRegistry &registry) {
        registry.insert<AccelDialect, func::FuncDialect>();
      });
}
