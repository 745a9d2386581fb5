//===- AccelBase.td - The accel dialect and its attributes ----*- tablegen -*-===//
#ifndef ACCEL_DIALECT_ACCEL_BASE
#define ACCEL_DIALECT_ACCEL_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Accel_Dialect : Dialect {
  let name = "accel";
  let cppNamespace = "::accel";
  let summary = "Tensor-level ops of models imported for training";
  let description = [{
    The `accel` dialect holds the computation of a model as imported from
    PyTorch exports (ONNX today, TorchScript later): value-semantics ops on
    ranked tensors, one op per concept a training compiler must reason about
    (a `linear` layer, a `layer_norm`, one `attention`), rather than one per
    exporter spelling.

    The IR carries no weight data. A model is a `func.func` whose parameters
    are arguments named by their model path (`{accel.param = "wte.weight"}`),
    their values in a safetensors file beside the IR; inputs are arguments
    marked `{accel.input = "input_ids"}` and results are named by
    `{accel.output = "logits"}`. Small constants (shape vectors, scalars)
    are `accel.constant` ops.

    Each op states its facts in one place: its shape rule (result type
    inference), its cost (`CostOpInterface`), and later its gradient
    (`DifferentiableOpInterface`) and its sharding rule (upstream
    `shard::ShardingInterface`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
}

class Accel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Accel_Dialect, mnemonic, traits>;

def Accel_CompareDirection : I32EnumAttr<"CompareDirection",
    "comparison of two tensors", [
      I32EnumAttrCase<"EQ", 0, "eq">, I32EnumAttrCase<"NE", 1, "ne">,
      I32EnumAttrCase<"LT", 2, "lt">, I32EnumAttrCase<"LE", 3, "le">,
      I32EnumAttrCase<"GT", 4, "gt">, I32EnumAttrCase<"GE", 5, "ge">]> {
  let cppNamespace = "::accel";
  let genSpecializedAttr = 0;
}
def Accel_CompareDirectionAttr
    : EnumAttr<Accel_Dialect, Accel_CompareDirection, "compare_direction">;

def Accel_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how gelu evaluates the Gaussian CDF", [
      I32EnumAttrCase<"None", 0, "none">, I32EnumAttrCase<"Tanh", 1, "tanh">]> {
  let cppNamespace = "::accel";
  let genSpecializedAttr = 0;
}
def Accel_GeluApproximationAttr
    : EnumAttr<Accel_Dialect, Accel_GeluApproximation, "gelu_approximation">;

// Element types the runtime computes with. Floating-point math is f32 today;
// bf16/f16 arrive with the precision passes.
def Accel_Reduction : I32EnumAttr<"Reduction",
    "how a collective combines the ranks' tensors", [
      I32EnumAttrCase<"Sum", 0, "sum">, I32EnumAttrCase<"Max", 1, "max">,
      I32EnumAttrCase<"Min", 2, "min">]> {
  let cppNamespace = "::accel";
  let genSpecializedAttr = 0;
}
def Accel_ReductionAttr : EnumAttr<Accel_Dialect, Accel_Reduction, "reduction">;

def Accel_LrSchedule : I32EnumAttr<"LrSchedule",
    "learning-rate schedule, as transformers.get_scheduler names it", [
      I32EnumAttrCase<"Constant", 0, "constant">,
      I32EnumAttrCase<"ConstantWithWarmup", 1, "constant_with_warmup">,
      I32EnumAttrCase<"Linear", 2, "linear">,
      I32EnumAttrCase<"Cosine", 3, "cosine">]> {
  let cppNamespace = "::accel";
  let genSpecializedAttr = 0;
}
def Accel_LrScheduleAttr
    : EnumAttr<Accel_Dialect, Accel_LrSchedule, "lr_schedule">;

def Accel_Float : AnyTypeOf<[F32, F16, BF16, F64]>;
def Accel_Int : AnyTypeOf<[I64, I32, I16, I8, UI8]>;
def Accel_FloatTensor : RankedTensorOf<[Accel_Float]>;
def Accel_IndexTensor : RankedTensorOf<[I64, I32]>;
def Accel_BoolTensor : RankedTensorOf<[I1]>;
def Accel_NumericTensor : RankedTensorOf<[Accel_Float, Accel_Int]>;
def Accel_Tensor : RankedTensorOf<[Accel_Float, Accel_Int, I1]>;

#endif // ACCEL_DIALECT_ACCEL_BASE
