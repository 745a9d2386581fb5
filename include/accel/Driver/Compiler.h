//===- Compiler.h - The compile steps the tools share -----------*- C++ -*-===//
#ifndef ACCEL_DRIVER_COMPILER_H
#define ACCEL_DRIVER_COMPILER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace accel {

/// Every dialect and extension an accel tool needs to read accel IR
/// (including the constant folder that runs the runtime's kernels).
void registerAccelDialects(mlir::DialectRegistry &registry);

/// Parses a .mlir file; diagnostics are printed to stderr with the file's
/// line and column. Null on failure.
mlir::OwningOpRef<mlir::ModuleOp> parseMlirFile(const std::string &path,
                                                mlir::MLIRContext &context);

/// Stores the parameters of inference model `module` in `dtype` ("bf16"
/// or "fp16"; "fp32" changes nothing) with accel-store-weights.
/// Diagnostics go to stderr.
mlir::LogicalResult storeWeights(mlir::ModuleOp module,
                                 const std::string &dtype);

/// Lowers `module` with accel-lower-to-runtime (when it has no memory plan
/// yet) and serializes it as an executable. Diagnostics go to stderr.
mlir::LogicalResult compileToExecutable(mlir::ModuleOp module,
                                        std::vector<uint8_t> &bytes);

} // namespace accel

#endif // ACCEL_DRIVER_COMPILER_H
