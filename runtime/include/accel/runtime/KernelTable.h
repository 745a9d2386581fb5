//===- KernelTable.h - Kernel names to bound host kernels -------*- C++ -*-===//
//
// The one place that knows how an instruction's kernel name and attributes
// map to a CPU kernel call. The compiler's executable writer emits the same
// names (lib/Target/Executable/InstructionEncoding.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_KERNELTABLE_H
#define ACCEL_RUNTIME_KERNELTABLE_H

#include "accel/runtime/Executor.h"
#include "accel/runtime/schema/executable_generated.h"

namespace accel::rt {

/// Decodes `instruction`'s attributes and returns the kernel call; throws
/// Error for an unknown kernel or a missing/ill-typed attribute, or for a
/// collective whose group is not among `groups`.
BoundKernel bindKernel(const fb::Instruction &instruction,
                       const CommGroups &groups = {});

} // namespace accel::rt

#endif // ACCEL_RUNTIME_KERNELTABLE_H
