//===- ReportLayoutPass.cpp - A layout's shardings, memory and traffic ---===//
//
// What a user checks before launching a layout: how each tensor is split,
// how much memory each rank needs, and what each step sends.
//
//===----------------------------------------------------------------------===//
#include "passes/Distributed/Passes.h"
#include "dialects/Accel/AccelOps.h"
#include "passes/Memory/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace accel {
#define GEN_PASS_DEF_REPORTLAYOUTPASS
#include "passes/Distributed/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

std::string mib(int64_t bytes) {
  return llvm::formatv("{0:f1} MiB", bytes / 1048576.0).str();
}

/// The grid a function records (accel-shard's metadata): axis -> size.
std::map<std::string, int64_t> gridOf(func::FuncOp f) {
  std::map<std::string, int64_t> grid;
  auto metadata = f->getAttrOfType<DictionaryAttr>("accel.metadata");
  auto axes = metadata ? metadata.getAs<StringAttr>("grid_axes") : nullptr;
  auto shape = metadata ? metadata.getAs<StringAttr>("grid_shape") : nullptr;
  if (!axes || !shape)
    return grid;
  SmallVector<StringRef> names, sizes;
  axes.getValue().split(names, ',');
  shape.getValue().split(sizes, ',');
  for (auto [name, size] : llvm::zip(names, sizes)) {
    int64_t n = 1;
    size.getAsInteger(10, n);
    grid[name.str()] = n;
  }
  return grid;
}

struct ReportLayoutPass
    : accel::impl::ReportLayoutPassBase<ReportLayoutPass> {
  using ReportLayoutPassBase::ReportLayoutPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto f = module.lookupSymbol<func::FuncOp>(function);
    if (!f || f.isExternal()) {
      module.emitError("accel-report-layout: no function @") << function;
      return signalPassFailure();
    }
    if (format != "text" && format != "json") {
      module.emitError("accel-report-layout: format must be text or json, not '")
          << format << "'";
      return signalPassFailure();
    }
    std::map<std::string, int64_t> grid = gridOf(f);
    int64_t ranks = 1;
    for (const auto &[axis, size] : grid)
      ranks *= size;

    llvm::json::Array tensors;
    int64_t params = 0, state = 0, inputs = 0;
    for (BlockArgument arg : f.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        continue;
      unsigned i = arg.getArgNumber();
      StringRef role = "other";
      StringAttr name;
      for (StringRef r : {"param", "state", "input"})
        if ((name = f.getArgAttrOfType<StringAttr>(i, ("accel." + r).str()))) {
          role = r;
          break;
        }
      SmallVector<int64_t> global(type.getShape());
      llvm::json::Array split;
      if (auto axes = f.getArgAttrOfType<ArrayAttr>(i, kSplitAttr))
        for (auto [d, axis] : llvm::enumerate(axes.getAsValueRange<StringAttr>())) {
          split.push_back(axis.str());
          if (!axis.empty())
            global[d] *= grid.count(axis.str()) ? grid[axis.str()] : 1;
        }
      int64_t bytes = tensorBytes(type);
      (role == "param" ? params : role == "state" ? state : inputs) +=
          role == "other" ? 0 : bytes;
      tensors.push_back(llvm::json::Object{
          {"name", name ? name.getValue().str() : "arg" + std::to_string(i)},
          {"role", role.str()},
          {"global_shape", shapeText(global)},
          {"local_shape", shapeText(type.getShape())},
          {"split", std::move(split)},
          {"bytes_per_rank", bytes}});
    }

    // Gradients: what the optimizer updates reads, one per parameter.
    int64_t gradients = 0;
    f.walk([&](Operation *op) {
      if (isa<AdamWOp, SgdOp>(op))
        gradients += tensorBytes(cast<RankedTensorType>(op->getOperand(1).getType()));
    });

    llvm::json::Array collectives;
    int64_t sentTotal = 0;
    f.walk([&](Operation *op) {
      auto group = op->getAttrOfType<StringAttr>("group");
      if (!group ||
          !isa<AllReduceOp, AllReduceStartOp, AllGatherOp, AllGatherStartOp,
               ReduceScatterOp, ReduceScatterStartOp, AllSliceOp>(op))
        return;
      int64_t p = 1;
      SmallVector<StringRef> axes;
      group.getValue().split(axes, ',');
      for (StringRef a : axes)
        p *= grid.count(a.str()) ? grid[a.str()] : 1;
      auto operand = cast<RankedTensorType>(op->getOperand(0).getType());
      auto result = cast<RankedTensorType>(op->getResult(0).getType());
      // What the runtime's rings send: (p-1) blocks each way of an
      // all-reduce, (p-1) blocks of a gather or scatter, nothing to slice.
      int64_t elems = operand.getNumElements(), esize = tensorBytes(operand) / std::max<int64_t>(1, elems);
      int64_t block = (elems + p - 1) / p * esize, sent = 0;
      if (isa<AllReduceOp, AllReduceStartOp>(op))
        sent = 2 * (p - 1) * block;
      else if (isa<AllGatherOp, AllGatherStartOp>(op))
        sent = (p - 1) * tensorBytes(operand);
      else if (isa<ReduceScatterOp, ReduceScatterStartOp>(op))
        sent = (p - 1) * tensorBytes(result);
      sentTotal += sent;
      collectives.push_back(llvm::json::Object{
          {"op", op->getName().stripDialect().str()},
          {"group", group.getValue().str()},
          {"tensor", shapeText(operand.getShape())},
          {"bytes", tensorBytes(operand)},
          {"sent_per_rank", sent}});
    });

    FailureOr<int64_t> arena = plannedArena(module);
    if (failed(arena))
      return signalPassFailure();

    std::string gridText;
    for (const auto &[axis, size] : grid)
      gridText += (gridText.empty() ? "" : " x ") + axis + "=" + std::to_string(size);
    llvm::json::Object report{
        {"function", function},
        {"grid", gridText.empty() ? "none" : gridText},
        {"ranks", ranks},
        {"memory_per_rank",
         llvm::json::Object{{"parameters", params},
                            {"gradients", gradients},
                            {"optimizer_state", state},
                            {"inputs", inputs},
                            {"arena", *arena}}},
        {"collectives", std::move(collectives)},
        {"sent_per_rank_per_step", sentTotal},
        {"tensors", std::move(tensors)}};

    std::error_code ec;
    std::unique_ptr<llvm::raw_fd_ostream> file;
    if (output != "-") {
      file = std::make_unique<llvm::raw_fd_ostream>(output, ec);
      if (ec) {
        module.emitError("accel-report-layout: cannot write ")
            << output << ": " << ec.message();
        return signalPassFailure();
      }
    }
    llvm::raw_ostream &os = file ? *file : llvm::errs();
    if (format == "json")
      os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
    else
      printText(os, report);
    markAllAnalysesPreserved();
  }

  /// The arena the executable writer would plan for the function, on a
  /// copy of it (added to the module for the while, then removed).
  FailureOr<int64_t> plannedArena(ModuleOp module) {
    auto f = module.lookupSymbol<func::FuncOp>(function);
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(f);
    auto copy = cast<func::FuncOp>(b.clone(*f));
    copy.setSymName(function + ".layout_report");
    OpPassManager pm(func::FuncOp::getOperationName());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    pm.addPass(createPlanBuffersPass());
    LogicalResult planned = runPipeline(pm, copy);
    auto size = copy->getAttrOfType<IntegerAttr>(kArenaSizeAttr);
    int64_t bytes = size ? size.getInt() : 0;
    copy.erase();
    if (failed(planned))
      return failure();
    return bytes;
  }

  void printText(llvm::raw_ostream &os, const llvm::json::Object &r) {
    const auto *memory = r.getObject("memory_per_rank");
    auto get = [&](StringRef k) { return *memory->getInteger(k); };
    os << "@" << function << " on grid " << *r.getString("grid") << " ("
       << *r.getInteger("ranks") << " ranks)\n";
    os << "memory per rank: parameters " << mib(get("parameters"))
       << ", gradients " << mib(get("gradients")) << " (in the arena)"
       << ", optimizer state " << mib(get("optimizer_state")) << ", arena "
       << mib(get("arena")) << " (activations, gradients, temporaries), inputs "
       << mib(get("inputs")) << "\n";
    os << "collectives per step (bytes each rank sends: "
       << mib(*r.getInteger("sent_per_rank_per_step")) << "):\n";
    for (const llvm::json::Value &c : *r.getArray("collectives")) {
      const auto *o = c.getAsObject();
      os << llvm::formatv("  {0,-17} {1,-6} {2,-14} {3,12} sent {4,12}\n",
                          *o->getString("op"), *o->getString("group"),
                          *o->getString("tensor"), mib(*o->getInteger("bytes")),
                          mib(*o->getInteger("sent_per_rank")));
    }
    os << "tensors:\n";
    for (const llvm::json::Value &t : *r.getArray("tensors")) {
      const auto *o = t.getAsObject();
      std::string split;
      for (const llvm::json::Value &a : *o->getArray("split"))
        split += (split.empty() ? "" : ",") +
                 (a.getAsString()->empty() ? std::string("-") : a.getAsString()->str());
      os << llvm::formatv("  {0,-48} {1,-6} {2,-14} {3,-14} {4,-8} {5}\n",
                          *o->getString("name"), *o->getString("role"),
                          *o->getString("global_shape"),
                          *o->getString("local_shape"),
                          split.empty() ? "whole" : split,
                          mib(*o->getInteger("bytes_per_rank")));
    }
  }
};

} // namespace
