//===- Passes.td - Passes that derive training computations ---*- tablegen -*-===//
#ifndef ACCEL_PASSES_TRAINING_PASSES
#define ACCEL_PASSES_TRAINING_PASSES

include "mlir/Pass/PassBase.td"

def DifferentiatePass : Pass<"accel-differentiate", "mlir::ModuleOp"> {
  let summary = "Adds the reverse-mode gradient function of each model function";
  let description = [{
    For every function with a single tensor result, adds `@<name>_grad`: the
    same arguments plus the result's cotangent (`{accel.input = "<output>.grad"}`),
    returning the cotangent of every floating-point argument
    (`{accel.output = "<argument>.grad"}`), unused ones as zeros. The
    forward computation is cloned and each op's gradient comes from its
    `DifferentiableOpInterface` rule, applied in reverse order; cotangents
    reaching a value along several uses are added.

    This is the autodiff core the training-step pass builds on; on its own
    it lets tests compare every op's gradient with PyTorch's autograd.

    Before:
    ```mlir
    func.func @f(%x: tensor<4xf32> {accel.input = "x"}) -> (tensor<4xf32> {accel.output = "y"}) {
      %0 = accel.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    ```
    After (added):
    ```mlir
    func.func @f_grad(%x: tensor<4xf32> {accel.input = "x"},
                      %dy: tensor<4xf32> {accel.input = "y.grad"})
        -> (tensor<4xf32> {accel.output = "x.grad"}) {
      %0 = accel.tanh %x : (tensor<4xf32>) -> tensor<4xf32>
      %1 = accel.mul %0, %0 ...      // dy * (1 - y^2)
      ...
    }
    ```
    Fails, naming the op, when an op on the path has no gradient rule.
  }];
  let dependentDialects = ["::accel::AccelDialect"];
}

#endif // ACCEL_PASSES_TRAINING_PASSES
