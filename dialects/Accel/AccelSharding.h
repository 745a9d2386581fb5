//===- AccelSharding.h - accel ops for MLIR's shard partitioner -*- C++ -*-===//
#ifndef ACCEL_DIALECT_ACCEL_SHARDING_H
#define ACCEL_DIALECT_ACCEL_SHARDING_H

#include "mlir/IR/DialectRegistry.h"

namespace accel {

/// Attaches upstream shard::ShardingInterface models to accel ops.
void registerShardingInterfaces(mlir::DialectRegistry &registry);

} // namespace accel

#endif // ACCEL_DIALECT_ACCEL_SHARDING_H
