//===- AccelInterfaces.td - Per-op facts: cost and gradient ---*- tablegen -*-===//
//
// Each op answers these questions itself, so passes never switch over op
// kinds. Sharding rules use upstream `shard::ShardingInterface` instead of an
// accel interface, attached as external models by the sharding passes.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_DIALECT_ACCEL_INTERFACES
#define ACCEL_DIALECT_ACCEL_INTERFACES

include "mlir/IR/OpBase.td"

def Accel_CostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::accel";
  let description = [{
    The work an op does, for the planner's cost model and the benchmarks'
    FLOP counts: floating-point operations (a fused multiply-add counts two)
    and bytes read plus written, from static shapes.
  }];
  let methods = [
    InterfaceMethod<"Floating-point operations this op performs.",
      "int64_t", "getFlops">,
    InterfaceMethod<"Bytes of operands read and results written.",
      "int64_t", "getBytesAccessed", (ins), [{}], [{
        return ::accel::detail::defaultBytesAccessed($_op);
      }]>,
  ];
}

def Accel_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::accel";
  let description = [{
    Reverse-mode rule of an op: given the cotangents of its results (null
    for results nothing depends on), builds the cotangents of its operands
    at the builder's insertion point (null for operands that are not
    differentiable, such as indices). The training-step pass calls this and
    nothing else per op.
  }];
  let methods = [
    InterfaceMethod<"Builds operand cotangents from result cotangents.",
      "::llvm::LogicalResult", "buildGradient",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

def Accel_InPlaceOpInterface : OpInterface<"InPlaceOpInterface"> {
  let cppNamespace = "::accel";
  let description = [{
    Ops whose kernels may write a result over one of their operands' buffers
    (each element is read before it is written). The memory planner uses
    this when the operand has no later reader: to update parameters and
    optimizer state in place, and to reuse a dying temporary's bytes.
  }];
  let methods = [
    InterfaceMethod<"The operand result `index` may overwrite, or null.",
      "::mlir::Value", "getTiedOperand", (ins "unsigned":$index)>,
  ];
}

#endif // ACCEL_DIALECT_ACCEL_INTERFACES
