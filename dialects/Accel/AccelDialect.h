//===- AccelDialect.h - The accel dialect -----------------------*- C++ -*-===//
#ifndef ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H
#define ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Accel/AccelDialect.h.inc"

namespace accel {
/// Function signature attributes. A model function's arguments are either
/// parameters, named by their model path ({accel.param =
/// "transformer.h.0.attn.c_attn.weight"}) and backed by a safetensors entry
/// of that name, or inputs fed per call ({accel.input = "input_ids"});
/// results are named outputs ({accel.output = "logits"}).
inline constexpr llvm::StringLiteral kParamAttr = "accel.param";
inline constexpr llvm::StringLiteral kInputAttr = "accel.input";
inline constexpr llvm::StringLiteral kOutputAttr = "accel.output";

/// The memory plan that accel-plan-buffers writes and the executable writer
/// reads: per op, one arena offset per result (-1: shares its operand's
/// bytes); per function, the arena's size in bytes.
inline constexpr llvm::StringLiteral kOffsetsAttr = "accel.offsets";
inline constexpr llvm::StringLiteral kArenaSizeAttr = "accel.arena_size";
} // namespace accel

#endif // ACCEL_DIALECTS_ACCEL_ACCELDIALECT_H
