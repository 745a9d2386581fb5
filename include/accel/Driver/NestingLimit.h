//===- NestingLimit.h - Bounding how deep MLIR text nests -------*- C++ -*-===//
//
// MLIR's parser, verifier and printer recurse once per level of nesting
// (regions, attribute and type literals), so text nested some thousands of
// levels deep overflows the stack and kills the process. The tools scan
// the text before parsing and refuse nesting past a bound far above what
// real IR uses (a model's IR nests about ten levels).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DRIVER_NESTINGLIMIT_H
#define ACCEL_DRIVER_NESTINGLIMIT_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace accel {

/// Brackets, braces, parentheses and angle brackets open at once, at most.
inline constexpr int kMaxMlirNesting = 256;

/// "" when `text` nests at most kMaxMlirNesting deep (outside string
/// literals and comments) or is MLIR bytecode; else "name:line:col: ..." at
/// the first bracket past the bound.
std::string checkMlirNesting(llvm::StringRef text, llvm::StringRef name);

} // namespace accel

#endif // ACCEL_DRIVER_NESTINGLIMIT_H
