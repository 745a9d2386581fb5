//===- PrecisionPolicy.cpp - Which ops run in low precision ---------------===//
#include "passes/Training/PrecisionPolicy.h"
#include "dialects/Accel/AccelOps.h"

using namespace mlir;

// The policy. torch.autocast runs GEMM-like ops in low precision and keeps
// ops that sum many terms or lose range (losses, softmax, norms, reductions)
// in fp32; accel does the same, keeping in fp32 also what CPU autocast
// leaves in the input's type (elementwise ops, norms on CPU), so every
// value that is not a GEMM's operand or result stays fp32:
//
// (The low type is bf16 or fp16, as accel-mixed-precision's dtype says.)
//
//   op                         precision  why
//   linear, matmul             low        GEMMs: 1.7-2.2x fp32 on AVX512-BF16
//                                         (AMX more), products summed in fp32
//   linear_cross_entropy       low        the fused LM head's three GEMMs;
//                                         its logits and loss stay fp32
//   attention                  fp32       bf16 kernel not written yet
//   cross_entropy, mse, norms,
//   softmax, reductions        fp32       sums of many terms
//   global_norm, optimizer     fp32       master weights and state are fp32
//   everything else            fp32       elementwise ops keep fp32 values
bool accel::runsInLowPrecision(Operation *op) {
  return isa<LinearOp, MatmulOp, LinearCrossEntropyOp>(op);
}
