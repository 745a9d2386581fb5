//===- ExecutableWriter.h - accel IR to the runtime's executable -*- C++ -*-===//
#ifndef ACCEL_TARGET_EXECUTABLEWRITER_H
#define ACCEL_TARGET_EXECUTABLEWRITER_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <vector>

namespace accel {

/// Serializes every function of `module` (which has been through
/// accel-lower-to-runtime, so each op carries its buffer plan) into the
/// executable format of runtime/schema/executable.fbs. Fails with a
/// diagnostic on the first op, type or value the format cannot express.
mlir::LogicalResult writeExecutable(mlir::ModuleOp module,
                                    std::vector<uint8_t> &bytes);

/// Registers the `--mlir-to-executable` translation of accel-translate.
void registerExecutableTranslation();

} // namespace accel

#endif // ACCEL_TARGET_EXECUTABLEWRITER_H
