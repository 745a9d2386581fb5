// RUN: accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute="mode=full" | FileCheck %s --check-prefix=FULL
// RUN: accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute="mode=selective" | FileCheck %s --check-prefix=SEL
// RUN: accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute | FileCheck %s --check-prefix=NONE
// RUN: accel-opt %s --accel-make-train-step="loss=mse recompute=full" | FileCheck %s --check-prefix=STEP
// RUN: not accel-opt %s --accel-build-loss="loss=mse" --accel-recompute="mode=full" 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute="mode=budget budget=300" | FileCheck %s --check-prefix=MIXED
// RUN: accel-opt %s --accel-make-train-step="loss=mse recompute=budget budget=200" | FileCheck %s --check-prefix=SELBUDGET
// RUN: accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute="mode=budget budget=0" 2>&1 | FileCheck %s --check-prefix=TIGHT
// RUN: not accel-opt %s --accel-build-loss="loss=mse" --accel-add-gradients --accel-recompute="mode=budget" 2>&1 | FileCheck %s --check-prefix=NOBUDGET
// Two blocks (items of the module list "layers", as the importer records
// the module of each op in its location), each x + down(dropout(gelu(up(x)))).
// Their backward passes read the gelu's input (the up projection), the
// dropout's output (for the down projection's weight gradient) and the
// block's input x.

// full: the block keeps only its input and output; the backward pass of
// each block starts by computing up, gelu and dropout again from x, with
// the same seed and step, and its gradient ops read those clones.
// FULL-LABEL: func.func @train_step
// FULL-SAME: %[[W0:[^:]*]]: tensor<8x4xf32> {accel.param = "layers.0.up.weight"}
// FULL-SAME: %[[STEPARG:[^:]*]]: tensor<i64> {accel.input = "step"}
// FULL-SAME: %[[X:[^:]*]]: tensor<2x4xf32> {accel.input = "x"}
// FULL: %[[U0:.*]] = accel.linear %[[X]], %[[W0]]
// FULL: %[[G0:.*]] = accel.gelu %[[U0]]
// FULL: %[[D0:.*]] = accel.dropout %[[G0]], %[[STEPARG]] {ratio = 5.000000e-01 : f32, seed = 3 : i64}
// FULL: accel.linear %[[D0]]
// FULL: %[[Y0:.*]] = accel.add %[[X]]
// FULL: accel.linear %[[Y0]]
// FULL: accel.reduce_mean
// Block 1's backward pass first, then block 0's, each behind its clones.
// FULL: %[[U0R:.*]] = accel.linear %[[X]], %[[W0]] {accel.recomputed}
// FULL-NEXT: %[[G0R:.*]] = accel.gelu %[[U0R]] {accel.recomputed}
// FULL-NEXT: %[[D0R:.*]] = accel.dropout %[[G0R]], %[[STEPARG]] {accel.recomputed, ratio = 5.000000e-01 : f32, seed = 3 : i64}
// FULL-NOT: %[[D0]]
// FULL: %[[R:.*]] = accel.reshape %[[D0R]]
// FULL: accel.matmul %{{.*}}, %[[R]] {transpose_lhs}
// FULL-NOT: %[[U0]]
// FULL: return

// selective: the projections' results are kept; only the gelu and the
// dropout are computed again.
// SEL-LABEL: func.func @train_step
// SEL: %[[U0:.*]] = accel.linear
// SEL: accel.reduce_mean
// SEL-NOT: accel.linear %{{.*}}, %{{.*}} : (tensor<2x4xf32>, tensor<8x4xf32>)
// SEL: %[[G0R:.*]] = accel.gelu %[[U0]]
// SEL-NEXT: accel.dropout %[[G0R]]
// SEL: return

// none (the default) changes nothing: one gelu per block.
// NONE-LABEL: func.func @train_step
// NONE-COUNT-2: accel.gelu
// NONE-NOT: accel.gelu
// NONE: return

// In the pipeline, recompute= is the mode, before the optimizer.
// STEP-LABEL: func.func @train_step
// STEP-COUNT-4: accel.gelu
// STEP: accel.adamw

// budget: what the blocks keep for the backward pass, per block (f32):
// none keeps up (64 B), dropout (64 B) and the output (32 B), 160 B;
// selective the up projection and the output, 96 B; full the output,
// 32 B; selective recomputes 160 FLOPs per block, full 416. Fewest FLOPs
// that fit: selective for layers.0 meets 300 B (256 B kept, 160 FLOPs);
// 200 B: both selective (192 B, 320 FLOPs) rather than one in full and one
// not (192 B, 416 FLOPs); 0 B is out of reach (64 B with both in full), a
// warning.
// MIXED: accel.recompute_plan = {kept_bytes = 256 : i64, layers.0 = "selective", layers.1 = "none", recomputed_flops = 160 : i64}
// MIXED-COUNT-3: accel.gelu
// MIXED-NOT: accel.gelu
// MIXED: return
// SELBUDGET: accel.recompute_plan = {kept_bytes = 192 : i64, layers.0 = "selective", layers.1 = "selective", recomputed_flops = 320 : i64}
// SELBUDGET-COUNT-4: accel.gelu
// SELBUDGET: accel.adamw
// TIGHT: warning: accel-recompute: the blocks keep 64 bytes for the backward pass even when each keeps the least it can, more than the budget of 0 bytes
// TIGHT: accel.recompute_plan = {kept_bytes = 64 : i64, layers.0 = "full", layers.1 = "full", recomputed_flops = 832 : i64}
// NOBUDGET: error: 'func.func' op accel-recompute: mode=budget needs budget=<bytes>

// ORDER: accel-recompute: needs the gradient form of the step
func.func @main(%x: tensor<2x4xf32> {accel.input = "x"},
                %w0: tensor<8x4xf32> {accel.param = "layers.0.up.weight"},
                %v0: tensor<4x8xf32> {accel.param = "layers.0.down.weight"},
                %w1: tensor<8x4xf32> {accel.param = "layers.1.up.weight"},
                %v1: tensor<4x8xf32> {accel.param = "layers.1.down.weight"}) -> tensor<2x4xf32> {
  %u0 = accel.linear %x, %w0 : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32> loc(#up0)
  %g0 = accel.gelu %u0 : (tensor<2x8xf32>) -> tensor<2x8xf32> loc(#act0)
  %d0 = accel.dropout %g0 {ratio = 0.5 : f32, seed = 3 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32> loc(#act0)
  %p0 = accel.linear %d0, %v0 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> loc(#down0)
  %y0 = accel.add %x, %p0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32> loc(#blk0)
  %u1 = accel.linear %y0, %w1 : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32> loc(#up1)
  %g1 = accel.gelu %u1 : (tensor<2x8xf32>) -> tensor<2x8xf32> loc(#act1)
  %d1 = accel.dropout %g1 {ratio = 0.5 : f32, seed = 4 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32> loc(#act1)
  %p1 = accel.linear %d1, %v1 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32> loc(#down1)
  %y1 = accel.add %y0, %p1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32> loc(#blk1)
  return %y1 : tensor<2x4xf32>
}
#up0 = loc("addmm_0"("layers.0.up"))
#act0 = loc("gelu_0"("layers.0.act"))
#down0 = loc("addmm_1"("layers.0.down"))
#blk0 = loc("add_0"("layers.0"))
#up1 = loc("addmm_2"("layers.1.up"))
#act1 = loc("gelu_1"("layers.1.act"))
#down1 = loc("addmm_3"("layers.1.down"))
#blk1 = loc("add_1"("layers.1"))
