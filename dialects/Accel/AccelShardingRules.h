//===- AccelShardingRules.h - How accel ops state their sharding -*- C++ -*-===//
//
// The vocabulary the ShardingInterface models of accel ops share. A model
// states its op as a loop nest, the way a linalg op would: one loop per
// index, each operand and result indexed by some of them. Upstream's
// `sharding-propagation` reads that to carry splits from value to value;
// the model's partition then builds the op on local shards.
//
// Two conventions make NumPy-style ops fit upstream's projected
// permutations:
//   - a broadcast dim of size 1 (and a kept reduced dim) gets a loop of its
//     own that no other value uses, so it is never split;
//   - a dim that cannot be split (a softmax axis, a split axis, a reshape's
//     inner dim) is a *fixed* loop: the partition refuses a split of it
//     with an error naming the op and the dim, never a wrong shape.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_SHARDING_RULES_H
#define ACCEL_DIALECT_ACCEL_SHARDING_RULES_H

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/IRMapping.h"

#include <string>

namespace accel::sharding {

using mlir::utils::IteratorType;

inline llvm::ArrayRef<int64_t> shapeOf(mlir::Value v) {
  return llvm::cast<mlir::RankedTensorType>(v.getType()).getShape();
}

/// An op's loops and the indexing map of each of its values.
class LoopNest {
public:
  explicit LoopNest(mlir::MLIRContext *ctx) : ctx(ctx) {}

  mlir::AffineExpr parallel();
  mlir::AffineExpr reduction(mlir::shard::ReductionKind kind =
                                 mlir::shard::ReductionKind::Sum);
  mlir::SmallVector<mlir::AffineExpr> parallel(int64_t count);
  /// A loop the partition refuses to split; `why` completes "cannot split".
  mlir::AffineExpr fixed(std::string why,
                         IteratorType type = IteratorType::parallel);

  /// The next operand or result (in op order: operands first) is indexed
  /// by `exprs`; a 0-d value by none.
  void index(llvm::ArrayRef<mlir::AffineExpr> exprs);
  /// The next value broadcasts to `loops` (one per dim of `to`) NumPy's
  /// way: trailing dims aligned; its size-1 dims where `to` is larger get
  /// a loop of their own.
  void indexBroadcast(mlir::Type value, llvm::ArrayRef<int64_t> to,
                      llvm::ArrayRef<mlir::AffineExpr> loops);

  unsigned loop(mlir::AffineExpr e) const;
  const mlir::SmallVector<IteratorType> &types() const { return loopTypes; }
  const mlir::SmallVector<mlir::shard::ReductionKind> &kinds() const {
    return reductionKinds;
  }
  /// Why a loop may not be split ("" when it may).
  llvm::StringRef fixedReason(unsigned loop) const { return reasons[loop]; }
  mlir::SmallVector<mlir::AffineMap> maps() const;
  /// The values share no loops (a gradient norm's operands): one grid
  /// axis may split a loop of each. Otherwise an axis splits one loop.
  void independentValues() { independent = true; }
  bool valuesIndependent() const { return independent; }

private:
  bool independent = false;
  mlir::MLIRContext *ctx;
  mlir::SmallVector<IteratorType> loopTypes;
  mlir::SmallVector<mlir::shard::ReductionKind> reductionKinds;
  mlir::SmallVector<std::string> reasons;
  mlir::SmallVector<mlir::SmallVector<mlir::AffineExpr>> values;
};

/// What a model's partition works with: the op, its local operands, the
/// shardings upstream chose, and helpers to build on local shards.
struct Partitioning {
  mlir::Operation *op;
  llvm::ArrayRef<mlir::Value> operands; // local shards
  llvm::ArrayRef<mlir::shard::Sharding> operandShardings, resultShardings;
  mlir::IRMapping &map;
  mlir::SymbolTableCollection &symbols;
  mlir::OpBuilder &b;
  const LoopNest &nest;
  mlir::shard::ShardingArray loopAxes; // the grid axes splitting each loop

  bool isSplit(mlir::AffineExpr loop) const {
    return !loopAxes[nest.loop(loop)].empty();
  }
  /// The grid axes splitting any of `loops`, in order, without repeats.
  mlir::SmallVector<mlir::shard::GridAxis>
  axesOf(llvm::ArrayRef<mlir::AffineExpr> loops) const;
  /// The grid the op's values are split over (a 0-d result has none of
  /// its own).
  mlir::FlatSymbolRefAttr grid() const;
  /// The type result `i` has on one rank.
  mlir::RankedTensorType localType(unsigned i) const;
  /// The op as it is, on local shards (results typed by their shardings).
  void keepAsIs() const;
  /// An op with reduction loops: when none is split it runs as it is;
  /// otherwise `partial` builds it on local shards (of result type
  /// `local`), an all-reduce of `kind` completes it and `finish` (if any)
  /// adds what must happen once. A contraction (`contraction`) of
  /// bf16/fp16 operands makes its partial sums in fp32 (an f32 `local`),
  /// sums and finishes them in fp32 and rounds once.
  mlir::LogicalResult reduceAcrossRanks(
      mlir::shard::ReductionKind kind,
      llvm::function_ref<mlir::Value(mlir::RankedTensorType local)> partial,
      llvm::function_ref<mlir::Value(mlir::Value)> finish = nullptr,
      bool contraction = false) const;
  /// A partial value completed across `axes` of the result grid. A bf16 or
  /// fp16 sum is completed in fp32 and rounded once (DDP reduces fp32
  /// gradients; accel-lower-collectives hands the fp32 sum to readers that
  /// widen it again).
  mlir::Value allReduce(mlir::Value partial,
                        llvm::ArrayRef<mlir::shard::GridAxis> axes,
                        mlir::shard::ReductionKind kind) const;
};

/// The runtime group of a collective over `axes` of grid `grid`: the grid's
/// axis names (its `accel.axes`), joined by commas in grid order ("dp",
/// "dp,tp"). A reduction's axes may come in any order; blocks moved in
/// another order than the grid's have no communicator, an error. Fails,
/// with an error on `op`, when the grid does not name its axes.
mlir::FailureOr<std::string> groupName(mlir::Operation *op,
                                       llvm::StringRef grid,
                                       llvm::ArrayRef<mlir::shard::GridAxis> axes,
                                       bool reduction = false);

/// A scalar constant of element type `element`.
mlir::Value scalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Type element,
                   int64_t value);

/// Indices into a dim of `whole` rows whose `rows` local rows are this
/// rank's block over `axes`: shifted to the block (0 where outside it),
/// and whether each falls inside it (and is not `skip`, an index never
/// looked up: a padding index, an ignored label). Negative indices count
/// from the end, as the kernels read them.
struct BlockIndices {
  mlir::Value shifted, inside;
};
mlir::FailureOr<BlockIndices>
blockIndices(Partitioning &p, mlir::Value indices, int64_t rows, int64_t whole,
             llvm::ArrayRef<mlir::shard::GridAxis> axes,
             std::optional<int64_t> skip);

/// Checks what every partition needs (fixed loops unsplit, split dims
/// divisible by their grid axes), then runs `rule`.
mlir::LogicalResult
partitionWith(mlir::Operation *op, const LoopNest &nest,
              llvm::ArrayRef<mlir::Value> operands,
              llvm::ArrayRef<mlir::shard::Sharding> operandShardings,
              llvm::ArrayRef<mlir::shard::Sharding> resultShardings,
              mlir::IRMapping &map, mlir::SymbolTableCollection &symbols,
              mlir::OpBuilder &b,
              llvm::function_ref<mlir::LogicalResult(Partitioning &)> rule);

/// The upstream model of an accel op from its rules: `Rules::describe(Op)`
/// gives the loop nest, `Rules::partition(Op, Partitioning &)` builds it on
/// local shards.
template <typename Op, typename Rules>
struct Model : mlir::shard::ShardingInterface::ExternalModel<Model<Op, Rules>,
                                                             Op> {
  mlir::SmallVector<IteratorType>
  getLoopIteratorTypes(mlir::Operation *op) const {
    return Rules::describe(llvm::cast<Op>(op)).types();
  }
  mlir::SmallVector<mlir::shard::ReductionKind>
  getReductionLoopIteratorKinds(mlir::Operation *op) const {
    return Rules::describe(llvm::cast<Op>(op)).kinds();
  }
  mlir::SmallVector<mlir::AffineMap>
  getIndexingMaps(mlir::Operation *op) const {
    return Rules::describe(llvm::cast<Op>(op)).maps();
  }
  /// Upstream's choice from the operands' and results' shardings, with
  /// fixed loops left whole: upstream then gathers an operand split along
  /// one before the op, as it would for any other resharding.
  mlir::FailureOr<mlir::shard::ShardingOption>
  getShardingOption(mlir::Operation *op,
                    llvm::ArrayRef<mlir::shard::Sharding> operandShardings,
                    llvm::ArrayRef<mlir::shard::Sharding> resultShardings) const {
    auto option = mlir::shard::detail::defaultGetShardingOption(
        op, operandShardings, resultShardings);
    if (mlir::failed(option))
      return option;
    LoopNest nest = Rules::describe(llvm::cast<Op>(op));
    for (unsigned loop = 0; loop < option->shardingArray.size(); ++loop)
      if (!nest.fixedReason(loop).empty())
        option->shardingArray[loop].clear();
    return option;
  }
  mlir::LogicalResult
  partition(mlir::Operation *op, llvm::ArrayRef<mlir::Value> operands,
            llvm::ArrayRef<mlir::shard::Sharding> operandShardings,
            llvm::ArrayRef<mlir::shard::Sharding> resultShardings,
            mlir::IRMapping &map, mlir::SymbolTableCollection &symbols,
            mlir::OpBuilder &b) const {
    LoopNest nest = Rules::describe(llvm::cast<Op>(op));
    return partitionWith(op, nest, operands, operandShardings,
                         resultShardings, map, symbols, b,
                         [&](Partitioning &p) {
                           return Rules::partition(llvm::cast<Op>(op), p);
                         });
  }
};

/// Rules whose partition is the op itself on local shards.
struct LocalRules {
  static mlir::LogicalResult partition(mlir::Operation *, Partitioning &p) {
    p.keepAsIs();
    return mlir::success();
  }
};

template <typename Rules, typename... Ops>
void attach(mlir::MLIRContext *ctx) {
  (Ops::template attachInterface<Model<Ops, Rules>>(*ctx), ...);
}

/// Model attachment, by family (AccelSharding*.cpp).
void attachComputeModels(mlir::MLIRContext *ctx);
void attachDataMovementModels(mlir::MLIRContext *ctx);
void attachTrainingModels(mlir::MLIRContext *ctx);

} // namespace accel::sharding

#endif // ACCEL_DIALECT_ACCEL_SHARDING_RULES_H
