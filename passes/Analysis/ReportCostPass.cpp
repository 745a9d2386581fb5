//===- ReportCostPass.cpp - FLOPs and bytes per op, as remarks -----------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Analysis/Passes.h"

namespace accel {
#define GEN_PASS_DEF_REPORTCOSTPASS
#include "passes/Analysis/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {
struct ReportCostPass : accel::impl::ReportCostPassBase<ReportCostPass> {
  void runOnOperation() override {
    int64_t flops = 0, bytes = 0, ops = 0;
    getOperation().walk([&](CostOpInterface op) {
      int64_t f = op.getFlops(), b = op.getBytesAccessed();
      op->emitRemark() << f << " flops, " << b << " bytes";
      flops += f;
      bytes += b;
      ++ops;
    });
    getOperation().emitRemark() << "total " << flops << " flops, " << bytes
                                << " bytes in " << ops << " ops";
    markAllAnalysesPreserved();
  }
};
} // namespace
