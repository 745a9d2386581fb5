//===- AccelShardingRules.cpp - How accel ops state their sharding -------===//
#include "dialects/Accel/AccelShardingRules.h"
#include "dialects/Accel/AccelOps.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace accel;
using namespace accel::sharding;

AffineExpr LoopNest::parallel() { return fixed("", IteratorType::parallel); }

AffineExpr LoopNest::reduction(shard::ReductionKind kind) {
  AffineExpr loop = fixed("", IteratorType::reduction);
  reductionKinds.back() = kind;
  return loop;
}

SmallVector<AffineExpr> LoopNest::parallel(int64_t count) {
  SmallVector<AffineExpr> loops;
  for (int64_t i = 0; i < count; ++i)
    loops.push_back(parallel());
  return loops;
}

AffineExpr LoopNest::fixed(std::string why, IteratorType type) {
  if (type == IteratorType::reduction)
    reductionKinds.push_back(shard::ReductionKind::Sum);
  loopTypes.push_back(type);
  reasons.push_back(std::move(why));
  return getAffineDimExpr(loopTypes.size() - 1, ctx);
}

void LoopNest::index(ArrayRef<AffineExpr> exprs) {
  values.emplace_back(exprs.begin(), exprs.end());
}

void LoopNest::indexBroadcast(Type value, ArrayRef<int64_t> to,
                              ArrayRef<AffineExpr> loops) {
  ArrayRef<int64_t> from = cast<RankedTensorType>(value).getShape();
  int64_t lead = static_cast<int64_t>(to.size() - from.size());
  SmallVector<AffineExpr> exprs;
  for (auto [i, size] : llvm::enumerate(from)) {
    int64_t d = lead + static_cast<int64_t>(i);
    exprs.push_back(size == 1 && to[d] != 1 ? parallel() : loops[d]);
  }
  index(exprs);
}

unsigned LoopNest::loop(AffineExpr e) const {
  return cast<AffineDimExpr>(e).getPosition();
}

SmallVector<AffineMap> LoopNest::maps() const {
  SmallVector<AffineMap> out;
  for (const auto &exprs : values)
    out.push_back(AffineMap::get(loopTypes.size(), 0, exprs, ctx));
  return out;
}

SmallVector<shard::GridAxis>
Partitioning::axesOf(ArrayRef<AffineExpr> loops) const {
  SmallVector<shard::GridAxis> axes;
  for (AffineExpr l : loops)
    for (shard::GridAxis a : loopAxes[nest.loop(l)])
      if (!llvm::is_contained(axes, a))
        axes.push_back(a);
  return axes;
}

RankedTensorType Partitioning::localType(unsigned i) const {
  shard::GridOp grid =
      shard::getGrid(op, resultShardings[i].getGridAttr(), symbols);
  return cast<RankedTensorType>(
      shard::shardType(op->getResult(i).getType(), grid, resultShardings[i]));
}

void Partitioning::keepAsIs() const {
  // Scalars carry no sharding (upstream annotates only ranked results of
  // rank > 0): an op on them is cloned as it is.
  bool scalarResults = llvm::all_of(op->getResultTypes(), [](Type t) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    return !tensor || tensor.getRank() == 0;
  });
  if (scalarResults || llvm::none_of(operandShardings, [](auto s) {
        return s && s.getGridAttr();
      })) {
    for (auto [old, local] : llvm::zip(op->getOperands(), operands))
      map.map(old, local);
    Operation *copy = b.clone(*op, map);
    for (auto [old, local] : llvm::zip(op->getResults(), copy->getResults()))
      map.map(old, local);
    return;
  }
  // A result upstream left unannotated (one nothing reads) is taken as
  // replicated on the operands' grid.
  std::vector<shard::Sharding> results(resultShardings.begin(),
                                       resultShardings.end());
  for (shard::Sharding &s : results)
    if (!s || !s.getGridAttr())
      s = shard::Sharding::get(grid(), {});
  shard::partitionTriviallyShardableOperation(*op, operands, operandShardings,
                                              results, map, symbols, b);
}

FlatSymbolRefAttr Partitioning::grid() const {
  for (ArrayRef<shard::Sharding> all : {resultShardings, operandShardings})
    for (const shard::Sharding &s : all)
      if (s && s.getGridAttr())
        return s.getGridAttr();
  return nullptr;
}

Value Partitioning::allReduce(Value partial, ArrayRef<shard::GridAxis> axes,
                              shard::ReductionKind kind) const {
  Location loc = op->getLoc();
  auto type = cast<RankedTensorType>(partial.getType());
  if (kind != shard::ReductionKind::Sum || !isLowPrecisionFloat(type))
    return shard::AllReduceOp::create(b, loc, partial, grid().getValue(), axes,
                                      kind);
  Value wide = CastOp::create(b, loc, type.clone(b.getF32Type()), partial);
  Value sum =
      shard::AllReduceOp::create(b, loc, wide, grid().getValue(), axes, kind);
  return CastOp::create(b, loc, type, sum);
}

FailureOr<std::string>
accel::sharding::groupName(Operation *op, StringRef gridName,
                           ArrayRef<shard::GridAxis> axes, bool reduction) {
  auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(
      op, StringAttr::get(op->getContext(), gridName));
  auto names = grid ? grid->getAttrOfType<ArrayAttr>("accel.axes") : nullptr;
  if (!names || names.size() != grid.getShape().size())
    return op->emitOpError("runs on grid @")
           << gridName << ", which does not name its axes (accel.axes)";
  SmallVector<shard::GridAxis> sorted(axes);
  llvm::sort(sorted);
  if (!reduction && ArrayRef<shard::GridAxis>(sorted) != axes)
    return op->emitOpError("moves blocks over grid axes in an order no "
                           "communicator has (the runtime's groups are in "
                           "grid order)");
  std::string group;
  for (shard::GridAxis a : sorted) {
    if (!group.empty())
      group += ",";
    group += cast<StringAttr>(names[a]).getValue().str();
  }
  return group;
}

Value accel::sharding::scalar(OpBuilder &b, Location loc, Type element, int64_t value) {
  auto type = RankedTensorType::get({}, element);
  Attribute attr = isa<FloatType>(element)
                       ? Attribute(b.getFloatAttr(element, double(value)))
                       : Attribute(b.getIntegerAttr(element, value));
  return ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, attr));
}

FailureOr<BlockIndices> accel::sharding::blockIndices(Partitioning &p, Value indices,
                                     int64_t rows, int64_t whole,
                                     ArrayRef<shard::GridAxis> axes,
                                     std::optional<int64_t> skip) {
  OpBuilder &b = p.b;
  Location loc = p.op->getLoc();
  FailureOr<std::string> group =
      groupName(p.op, p.grid().getValue(), axes);
  if (failed(group))
    return failure();
  Type element = cast<RankedTensorType>(indices.getType()).getElementType();
  Value rank = GroupRankOp::create(
      b, loc, RankedTensorType::get({}, b.getI64Type()), b.getStringAttr(*group));
  if (!element.isInteger(64))
    rank = CastOp::create(b, loc, RankedTensorType::get({}, element), rank);
  auto compare = [&](Value lhs, int64_t value, CompareDirection direction) {
    return CompareOp::create(b, loc, lhs, scalar(b, loc, element, value),
                             CompareDirectionAttr::get(b.getContext(), direction))
        .getResult();
  };
  indices = WhereOp::create(
      b, loc, compare(indices, 0, CompareDirection::LT),
      AddOp::create(b, loc, indices, scalar(b, loc, element, whole)), indices);
  if (skip && *skip < 0)
    *skip += whole;
  Value first = MulOp::create(b, loc, rank, scalar(b, loc, element, rows));
  Value shifted = SubOp::create(b, loc, indices, first);
  Value low = compare(shifted, 0, CompareDirection::GE);
  Value inside = WhereOp::create(b, loc, low,
                                 compare(shifted, rows, CompareDirection::LT), low);
  if (skip)
    inside = WhereOp::create(b, loc, inside,
                             compare(indices, *skip, CompareDirection::NE), inside);
  shifted = WhereOp::create(b, loc, inside, shifted, scalar(b, loc, element, 0));
  return BlockIndices{shifted, inside};
}

LogicalResult Partitioning::reduceAcrossRanks(
    shard::ReductionKind kind,
    function_ref<Value(RankedTensorType local)> partial,
    function_ref<Value(Value)> finish, bool contraction) const {
  SmallVector<shard::GridAxis> reduced =
      shard::getReductionGridAxes(nest.types(), loopAxes);
  if (reduced.empty()) {
    keepAsIs();
    return success();
  }
  RankedTensorType local = localType(0);
  bool wide = contraction && kind == shard::ReductionKind::Sum &&
              isLowPrecisionFloat(local);
  Value whole = allReduce(partial(wide ? local.clone(b.getF32Type()) : local),
                          reduced, kind);
  if (finish)
    whole = finish(whole);
  if (wide)
    whole = CastOp::create(b, op->getLoc(), local, whole);
  map.map(op->getResult(0), whole);
  return success();
}

namespace {

std::string axesString(ArrayRef<shard::GridAxis> axes) {
  std::string s = "[";
  for (auto [i, a] : llvm::enumerate(axes))
    s += (i ? ", " : "") + std::to_string(a);
  return s + "]";
}

/// Every split dim of `type` divides by the grid axes that split it:
/// upstream would otherwise drop the remainder without a word.
LogicalResult checkDivisible(Operation *op, Type type,
                             shard::Sharding sharding, StringRef what,
                             SymbolTableCollection &symbols) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !sharding)
    return success();
  shard::GridOp grid = shard::getGrid(op, sharding.getGridAttr(), symbols);
  if (!grid)
    return success();
  ArrayRef<int64_t> gridShape = grid.getShape();
  for (auto [dim, axes] : llvm::enumerate(sharding.getSplitAxes())) {
    int64_t parts = 1;
    for (shard::GridAxis a : axes.asArrayRef())
      parts *= gridShape[a];
    if (parts > 1 && tensor.getDimSize(dim) % parts)
      return op->emitOpError()
             << what << " " << tensor << ": dim " << dim << " of size "
             << tensor.getDimSize(dim) << " does not divide over grid axes "
             << axesString(axes.asArrayRef()) << " of size " << parts;
  }
  return success();
}

} // namespace

LogicalResult accel::sharding::partitionWith(
    Operation *op, const LoopNest &nest, ArrayRef<Value> operands,
    ArrayRef<shard::Sharding> operandShardings,
    ArrayRef<shard::Sharding> resultShardings, IRMapping &map,
    SymbolTableCollection &symbols, OpBuilder &b,
    function_ref<LogicalResult(Partitioning &)> rule) {
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (failed(checkDivisible(op, v.getType(), operandShardings[i],
                              "operand " + std::to_string(i), symbols)))
      return failure();
  for (auto [i, v] : llvm::enumerate(op->getResults()))
    if (failed(checkDivisible(op, v.getType(), resultShardings[i],
                              "result " + std::to_string(i), symbols)))
      return failure();
  Partitioning p{op,  operands, operandShardings, resultShardings, map,
                 symbols, b, nest, shard::getGridAxisAssignmentForLoopIterators(
                                       operandShardings, resultShardings,
                                       nest.types(), nest.maps())};
  // Upstream assigns loops from the operands' splits only: a loop that
  // only a result is split along (the rows of a scatter's output, whose
  // operands are whole) takes the result's axes.
  SmallVector<AffineMap> maps = nest.maps();
  for (auto [i, sharding] : llvm::enumerate(resultShardings)) {
    if (!sharding)
      continue;
    AffineMap indexing = maps[op->getNumOperands() + i];
    for (auto [d, axes] : llvm::enumerate(sharding.getSplitAxes())) {
      if (d >= indexing.getNumResults())
        break; // a 0-d result's [[]]
      auto loop = dyn_cast<AffineDimExpr>(indexing.getResult(d));
      if (loop && p.loopAxes[loop.getPosition()].empty())
        p.loopAxes[loop.getPosition()].assign(axes.asArrayRef().begin(),
                                              axes.asArrayRef().end());
    }
  }
  DenseMap<shard::GridAxis, unsigned> loopOfAxis;
  for (auto [loop, axes] : llvm::enumerate(p.loopAxes)) {
    if (!axes.empty() && !nest.fixedReason(loop).empty())
      return op->emitOpError() << "cannot split " << nest.fixedReason(loop)
                               << " (over grid axes " << axesString(axes)
                               << ")";
    // One axis splitting two loops would leave each rank a diagonal block
    // (its rows of a table and its part of the indices, say).
    for (shard::GridAxis a : nest.valuesIndependent() ? ArrayRef<shard::GridAxis>()
                                                      : ArrayRef<shard::GridAxis>(axes))
      if (auto [it, fresh] = loopOfAxis.try_emplace(a, loop); !fresh)
        return op->emitOpError()
               << "splits its loops " << it->second << " and " << loop
               << " over the same grid axis " << a;
  }
  return rule(p);
}
