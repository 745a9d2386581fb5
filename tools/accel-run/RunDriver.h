//===- RunDriver.h - What accel-run and accel-node do -------------*- C++
//-*-===//
//
// The runtime driver shared by accel-run (which also compiles a .mlir
// model in-process) and accel-node (the binary training nodes run, linking
// no MLIR or LLVM): parse the command line, then consolidate a checkpoint,
// launch ranks, train, generate or run a function.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_TOOLS_ACCEL_RUN_RUNDRIVER_H
#define ACCEL_TOOLS_ACCEL_RUN_RUNDRIVER_H

#include "accel/runtime/Executable.h"

#include <functional>
#include <memory>
#include <string>

namespace accel {

/// Loads the model at `path` as an executable, its parameters stored in
/// `weightsDtype` ("fp32", "bf16", "fp16"; a .mlir model is compiled so);
/// throws rt::Error.
using ModelLoader = std::function<std::unique_ptr<rt::Executable>(
    const std::string &path, const std::string &weightsDtype)>;

/// Runs `tool`'s command line; returns the process's exit status.
int runDriver(int argc, char **argv, const std::string &tool,
              const ModelLoader &load);

} // namespace accel

#endif // ACCEL_TOOLS_ACCEL_RUN_RUNDRIVER_H
