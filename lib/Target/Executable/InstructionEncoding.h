//===- InstructionEncoding.h - accel ops as runtime instructions -*- C++ -*-===//
//
// The compiler's half of the kernel contract: which runtime kernel runs an
// op and with which named attributes. The runtime's half is
// runtime/src/CpuKernels.cpp and CollectiveKernels.cpp (KernelRegistry.h).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_LIB_TARGET_EXECUTABLE_INSTRUCTIONENCODING_H
#define ACCEL_LIB_TARGET_EXECUTABLE_INSTRUCTIONENCODING_H

#include "accel/runtime/schema/executable_generated.h"
#include "mlir/IR/Operation.h"

#include <optional>
#include <string>
#include <vector>

namespace accel {

struct EncodedAttr {
  std::string name;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::optional<std::string> str;
};

struct EncodedInstruction {
  std::string kernel;
  /// Operands in kernel order; a null Value is an absent optional operand.
  llvm::SmallVector<mlir::Value> operands;
  std::vector<EncodedAttr> attrs;
};

/// The instruction that computes `op`, or failure (with a diagnostic on
/// `op`) when no kernel runs it.
mlir::FailureOr<EncodedInstruction> encodeInstruction(mlir::Operation *op);

/// Runtime element type code of an MLIR element type, or nullopt.
std::optional<uint8_t> encodeDType(mlir::Type elementType);

/// Serializes `inst`'s attributes into `builder`.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<rt::fb::Attr>>>
buildAttrs(flatbuffers::FlatBufferBuilder &builder,
           const EncodedInstruction &inst);

} // namespace accel

#endif // ACCEL_LIB_TARGET_EXECUTABLE_INSTRUCTIONENCODING_H
