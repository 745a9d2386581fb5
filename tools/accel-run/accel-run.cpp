//===- accel-run.cpp - Compile if need be, then run on the accel runtime --===//
//
//   accel-run model.mlir|model.accx [--weights model.safetensors]
//       [--input NAME=x.npy]... [--output-dir DIR] [--num-threads N]
//       [--steps N --data ... | --generate N --prompt ...]
//       [--nproc-per-node N [--nnodes M --node-rank K]
//        [--master-addr HOST --master-port PORT]]
//
// The convenience: a .mlir model is compiled in-process first (this binary
// links the compiler); an .accx executable runs as it is. Training nodes
// can run accel-node instead, the same driver without the compiler.
//
//===----------------------------------------------------------------------===//
#include "RunDriver.h"

#include "accel/Driver/Compiler.h"

#include "mlir/IR/MLIRContext.h"

namespace rt = accel::rt;

static std::unique_ptr<rt::Executable> loadModel(const std::string &path,
                                                 const std::string &dtype) {
  if (path.size() < 5 || path.compare(path.size() - 5, 5, ".mlir") != 0) {
    if (dtype != "fp32")
      throw rt::Error(path + ": --weights-dtype " + dtype +
                      " compiles a .mlir model so; an executable keeps the "
                      "types it was compiled with (accel-opt "
                      "--accel-store-weights=dtype=" +
                      dtype + ")");
    return rt::Executable::loadFile(path);
  }
  mlir::DialectRegistry registry;
  accel::registerAccelDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      accel::parseMlirFile(path, context);
  std::vector<uint8_t> bytes;
  if (!module || mlir::failed(accel::storeWeights(*module, dtype)) ||
      mlir::failed(accel::compileToExecutable(*module, bytes)))
    throw rt::Error(path + ": compilation failed (see above)");
  return rt::Executable::fromBytes(std::move(bytes), path);
}

int main(int argc, char **argv) {
  return accel::runDriver(argc, argv, "accel-run", loadModel);
}
