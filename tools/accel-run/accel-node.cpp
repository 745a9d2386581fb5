//===- accel-node.cpp - The runtime binary training nodes run -------------===//
//
//   accel-node model.accx [accel-run's options]
//
// accel-run without the compiler: it links no MLIR or LLVM and runs
// compiled executables only (accel-translate --mlir-to-executable, or
// accel-opt ... | accel-translate). Launch it like accel-run
// (--nproc-per-node, torchrun, Slurm, mpirun).
//
//===----------------------------------------------------------------------===//
#include "RunDriver.h"

namespace rt = accel::rt;

static std::unique_ptr<rt::Executable> loadModel(const std::string &path,
                                                 const std::string &dtype) {
  if ((path.size() >= 5 && path.compare(path.size() - 5, 5, ".mlir") == 0) ||
      dtype != "fp32")
    throw rt::Error(path + ": accel-node runs compiled executables (.accx) "
                           "as compiled; compile it with accel-translate "
                           "--mlir-to-executable (after accel-opt "
                           "--accel-store-weights for --weights-dtype), or "
                           "run it with accel-run");
  return rt::Executable::loadFile(path);
}

int main(int argc, char **argv) {
  return accel::runDriver(argc, argv, "accel-node", loadModel);
}
