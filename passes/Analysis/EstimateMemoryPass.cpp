//===- EstimateMemoryPass.cpp - Peak memory of a step, before it runs ----===//
//
// What the runtime will hold while a function runs: its parameters and
// optimizer state, and the arena tensors alive at each op (the buffer
// planner's liveness), by what they are for. The arena's peak is the sum
// of the buffers alive at one op, the bound any placement reaches at
// best; the planner's first-fit placement needs that plus fragmentation,
// which the runtime's measured arena shows.
//
//===----------------------------------------------------------------------===//
#include "dialects/Accel/AccelOps.h"
#include "passes/Analysis/Passes.h"
#include "passes/Memory/BufferLiveness.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

#include <array>
#include <cstring>

namespace accel {
#define GEN_PASS_DEF_ESTIMATEMEMORYPASS
#include "passes/Analysis/Passes.h.inc"
} // namespace accel

using namespace mlir;
using namespace accel;

namespace {

/// What an arena buffer holds.
enum Category { Activation, Gradient, Temporary, kCategories };
constexpr std::array<const char *, kCategories> kCategoryNames = {
    "activations kept for the backward pass", "gradients", "temporaries"};
constexpr std::array<const char *, kCategories> kCategoryColors = {
    "#4e79a7", "#e15759", "#bab0ac"};

/// Bytes a kernel allocates for itself while it runs, outside the arena:
/// the fused LM head's block of logits (fp32) and, for a bf16/fp16 head,
/// its rounded logit gradients and fp32 weight gradient.
int64_t workspaceBytes(Operation *op) {
  auto head = dyn_cast<LinearCrossEntropyOp>(op);
  if (!head)
    return 0;
  auto weight = cast<RankedTensorType>(head.getWeight().getType());
  auto labels = cast<RankedTensorType>(head.getLabels().getType());
  int64_t classes = weight.getDimSize(head.getWeightInOut() ? 1 : 0);
  int64_t rows = labels.getNumElements();
  // As runtime/backends/cpu/Loss.cpp sizes them.
  int64_t blockRows = std::max<int64_t>(
      1, std::min<int64_t>(rows, (int64_t(1) << 24) / classes));
  bool half = weight.getElementType().getIntOrFloatBitWidth() == 16;
  return blockRows * classes * (half ? 6 : 4) + rows * 8 +
         (half ? weight.getNumElements() * 4 : 0);
}

struct Estimate {
  int64_t parameters = 0, optimizerState = 0, inputs = 0;
  /// Live arena bytes per category at each op.
  std::vector<std::array<int64_t, kCategories>> live;
  std::vector<int64_t> workspace;
  int64_t peakAt = 0, peakArena = 0, peakWorkspace = 0;
  int64_t backwardFrom = -1; // op index of the loss: the backward pass after
};

/// The gradients: what the optimizer, the norm or the unscaling reads as a
/// gradient, what the unscaling gives, and the partial sums and casts
/// they are made of (a tied embedding's head gradient, held through the
/// backward pass until the embedding's is added to it).
DenseSet<Value> gradientValues(func::FuncOp f) {
  DenseSet<Value> grads;
  f.walk([&](Operation *op) {
    if (auto adamw = dyn_cast<AdamWOp>(op))
      grads.insert(adamw.getGrad());
    else if (auto sgd = dyn_cast<SgdOp>(op))
      grads.insert(sgd.getGrad());
    else if (auto norm = dyn_cast<GlobalNormOp>(op))
      grads.insert(norm.getOperands().begin(), norm.getOperands().end());
    else if (auto unscale = dyn_cast<UnscaleGradientsOp>(op)) {
      grads.insert(unscale.getGrads().begin(), unscale.getGrads().end());
      grads.insert(unscale.getUnscaled().begin(), unscale.getUnscaled().end());
    }
  });
  Block &block = f.getBody().front();
  for (Operation &op : llvm::reverse(block))
    if (isa<AddOp, CastOp, ReshapeOp>(op) &&
        llvm::any_of(op.getResults(),
                     [&](Value r) { return grads.contains(r); }))
      for (Value v : op.getOperands())
        if (v.getType() == op.getResult(0).getType() || isa<CastOp>(op) ||
            isa<ReshapeOp>(op))
          grads.insert(v);
  return grads;
}

FailureOr<Estimate> estimate(func::FuncOp f) {
  FailureOr<BufferLiveness> liveness = analyzeBufferLiveness(f);
  if (failed(liveness))
    return failure();
  Estimate e;
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    int64_t bytes =
        tensorBytes(cast<RankedTensorType>(f.getArgument(i).getType()));
    if (f.getArgAttr(i, kParamAttr) || f.getArgAttr(i, kBufferAttr))
      e.parameters += bytes;
    else if (f.getArgAttr(i, kStateAttr))
      e.optimizerState += bytes;
    else
      e.inputs += bytes;
  }
  Block &block = f.getBody().front();
  // The backward pass starts after the loss (a training step's output
  // "loss").
  for (unsigned i = 0; i < f.getNumResults(); ++i)
    if (auto name = f.getResultAttrOfType<StringAttr>(i, kOutputAttr);
        name && name.getValue() == "loss")
      if (Operation *def = block.getTerminator()->getOperand(i).getDefiningOp())
        e.backwardFrom = liveness->order.lookup(def);
  DenseSet<Value> grads = gradientValues(f);

  int64_t n = block.getOperations().size();
  // Per category, the change of live bytes at each op (a buffer lives from
  // its op through its last reader).
  std::vector<std::array<int64_t, kCategories>> delta(n + 1);
  for (auto &[value, life] : liveness->buffers) {
    Category c = grads.contains(value) ? Gradient
                 : e.backwardFrom >= 0 && life.first < e.backwardFrom &&
                         life.last > e.backwardFrom
                     ? Activation
                     : Temporary;
    int64_t end = life.last == BufferLifetime::kForever ? n : life.last + 1;
    delta[life.first][c] += life.size;
    delta[std::min(end, n)][c] -= life.size;
  }
  e.live.resize(n);
  e.workspace.resize(n);
  std::array<int64_t, kCategories> now{};
  for (auto [t, op] : llvm::enumerate(block)) {
    for (int c = 0; c < kCategories; ++c)
      now[c] += delta[t][c];
    e.live[t] = now;
    e.workspace[t] = workspaceBytes(&op);
    int64_t total = now[Activation] + now[Gradient] + now[Temporary];
    if (total > e.peakArena) {
      e.peakArena = total;
      e.peakAt = t;
    }
    e.peakWorkspace = std::max(e.peakWorkspace, e.workspace[t]);
  }
  return e;
}

std::string mib(int64_t bytes) {
  return llvm::formatv("{0,12:N} bytes ({1,8:F1} MiB)", bytes,
                       bytes / 1048576.0)
      .str();
}

void printTable(func::FuncOp f, const Estimate &e, bool perRank,
                llvm::raw_ostream &os) {
  Operation *peakOp = &*std::next(f.getBody().front().begin(), e.peakAt);
  os << "memory estimate of @" << f.getSymName()
     << (perRank ? " (per rank)" : "") << "\n";
  os << llvm::formatv("  {0,-44}{1}\n", "parameters", mib(e.parameters));
  os << llvm::formatv("  {0,-44}{1}\n", "optimizer state",
                      mib(e.optimizerState));
  os << llvm::formatv("  {0,-44}{1}\n", "arena at its peak", mib(e.peakArena));
  for (int c = 0; c < kCategories; ++c)
    os << llvm::formatv("    {0,-42}{1}\n", kCategoryNames[c],
                        mib(e.live[e.peakAt][c]));
  os << llvm::formatv("  {0,-44}{1}\n", "total (what the runtime allocates)",
                      mib(e.parameters + e.optimizerState + e.peakArena));
  os << llvm::formatv("  {0,-44}{1}\n", "batch inputs (the data loader's)",
                      mib(e.inputs));
  os << llvm::formatv("  {0,-44}{1}\n",
                      "kernel workspace, at most (outside the arena)",
                      mib(e.peakWorkspace));
  os << "  peak at op " << e.peakAt << " of "
     << f.getBody().front().getOperations().size() << " (" << peakOp->getName()
     << ")";
  if (e.backwardFrom >= 0)
    os << "; the loss at op " << e.backwardFrom;
  os << "\n";
}

/// Memory over the function as stacked areas: parameters and state, then
/// each arena category.
void writeSvg(func::FuncOp f, const Estimate &e, llvm::raw_ostream &os) {
  const int width = 900, height = 320, left = 70, top = 40, bottom = 50;
  const double plotW = width - left - 20, plotH = height - top - bottom;
  size_t n = e.live.size();
  int64_t fixed = e.parameters + e.optimizerState;
  double maxBytes = static_cast<double>(fixed + e.peakArena) * 1.05 + 1;
  auto x = [&](double t) { return left + plotW * t / std::max<size_t>(n, 1); };
  auto y = [&](double bytes) { return top + plotH * (1 - bytes / maxBytes); };
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
     << "\" height=\"" << height << "\" font-family=\"sans-serif\" "
     << "font-size=\"12\">\n";
  os << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\">Memory of @"
     << f.getSymName() << " over its ops (peak "
     << llvm::formatv("{0:F1}", (fixed + e.peakArena) / 1048576.0)
     << " MiB)</text>\n";
  // Bands from the bottom: fixed, then each category.
  std::vector<double> below(n, static_cast<double>(fixed));
  auto band = [&](const std::vector<double> &lower,
                  const std::vector<double> &upper, const char *color) {
    os << "<polygon fill=\"" << color << "\" points=\"";
    for (size_t t = 0; t < n; ++t)
      os << llvm::formatv("{0:F1},{1:F1} {2:F1},{1:F1} ", x(t), y(upper[t]),
                          x(t + 1));
    for (size_t t = n; t-- > 0;)
      os << llvm::formatv("{0:F1},{1:F1} {2:F1},{1:F1} ", x(t + 1), y(lower[t]),
                          x(t));
    os << "\"/>\n";
  };
  band(std::vector<double>(n, 0), below, "#59a14f");
  for (int c = 0; c < kCategories; ++c) {
    std::vector<double> above = below;
    for (size_t t = 0; t < n; ++t)
      above[t] += static_cast<double>(e.live[t][c]);
    band(below, above, kCategoryColors[c]);
    below = above;
  }
  if (e.backwardFrom >= 0)
    os << llvm::formatv("<line x1=\"{0:F1}\" x2=\"{0:F1}\" y1=\"{1}\" "
                        "y2=\"{2}\" stroke=\"black\" stroke-dasharray=\"4\"/>"
                        "<text x=\"{3:F1}\" y=\"{4}\">loss</text>\n",
                        x(e.backwardFrom), top, top + plotH,
                        x(e.backwardFrom) + 4, top + 12);
  // Axes: MiB at 0, half and the peak; op indices at the ends.
  for (double frac : {0.0, 0.5, 1.0}) {
    double bytes = frac * (fixed + e.peakArena);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1:F1}\" text-anchor=\"end\">"
                        "{2:F1} MiB</text>\n",
                        left - 6, y(bytes) + 4, bytes / 1048576.0);
  }
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">op 0</text><text x=\"{2}\" "
                      "y=\"{1}\" text-anchor=\"end\">op {3}</text>\n",
                      left, top + plotH + 16, left + plotW, n);
  // Legend.
  std::array<std::pair<const char *, const char *>, kCategories + 1> keys = {
      {{"parameters and optimizer state", "#59a14f"},
       {kCategoryNames[0], kCategoryColors[0]},
       {kCategoryNames[1], kCategoryColors[1]},
       {kCategoryNames[2], kCategoryColors[2]}}};
  double lx = left;
  for (auto [name, color] : keys) {
    os << llvm::formatv("<rect x=\"{0:F0}\" y=\"{1}\" width=\"10\" "
                        "height=\"10\" fill=\"{2}\"/><text x=\"{3:F0}\" "
                        "y=\"{4}\">{5}</text>\n",
                        lx, height - 22, color, lx + 14, height - 13, name);
    lx += 14 + 7.0 * std::strlen(name) + 16;
  }
  os << "</svg>\n";
}

struct EstimateMemoryPass
    : accel::impl::EstimateMemoryPassBase<EstimateMemoryPass> {
  using EstimateMemoryPassBase::EstimateMemoryPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto f = module.lookupSymbol<func::FuncOp>(function);
    if (!f || f.isExternal()) {
      module.emitError(getArgument())
          << ": the module has no function @" << function;
      return signalPassFailure();
    }
    FailureOr<Estimate> e = estimate(f);
    if (failed(e))
      return signalPassFailure();
    bool perRank = static_cast<bool>(module.lookupSymbol("grid"));
    printTable(f, *e, perRank, llvm::errs());
    if (svg.empty())
      return;
    std::string error;
    auto out = openOutputFile(svg, &error);
    if (!out) {
      module.emitError(getArgument()) << ": " << error;
      return signalPassFailure();
    }
    writeSvg(f, *e, out->os());
    out->keep();
  }
};

} // namespace
