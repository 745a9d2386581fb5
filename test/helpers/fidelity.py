"""accel's one standard of training fidelity, against float64.

The same loop (AdamW, gradient clipping, a warm-up schedule) is trained three
times from the same initial weights on the same batches: by accel (fp32,
compiled by accel-make-train-step and run by accel-run's loop), by PyTorch in
fp32 and by PyTorch in float64. float64 stands in for the exact result; the
fp32 PyTorch run measures how far an ordinary fp32 implementation strays from
it. accel passes when, measured against float64,

  * each step's loss error is within 2x the worst loss error PyTorch fp32 has
    made up to that step (plus a floor of 4 ulps of the loss), and
  * each parameter's update error -- |p - p64| over its elements relative
    to its float64 update p64 - p0, in L2 norm -- is within 2x PyTorch
    fp32's on the same parameter (plus a floor of 4 ulps of the parameter's
    magnitude, what an element that only decays can differ by), and
  * the worst element of every parameter, max |p - p64| / max |p64 - p0|, is
    within 2x the worst PyTorch fp32 reaches on any parameter of the model.
    Worst elements are compared model-wide because they are heavy-tailed:
    AdamW divides by sqrt(v) + 1e-8, so an element whose gradient passes near
    zero turns rounding into a visible step, and which element that is
    differs between any two fp32 implementations (measured on Phi-3: median,
    99th and 99.9th percentile errors of accel and PyTorch fp32 equal to two
    digits, the single worst element 1.4e-5 against 4.2e-6 on one tensor).

Elements whose gradient is exactly zero in exact arithmetic are measured
apart. The key projection's bias is one: it adds the same amount to every
score of a query, which softmax ignores. float64 computes its gradient as
~1e-16 of the others; fp32 as ~1e-7 of them, rounding noise that AdamW's
normalization turns into steps of a tenth of the learning rate with
arbitrary sign, in PyTorch and accel alike, so the two cannot agree element
by element. These "silent" elements (float64 gradient below 1e-10 of the
largest gradient at every step) are left out of the update error; their
movement in both fp32 runs is reported and accel's must stay below the
bound of noise AdamW can make of it (a tenth of the summed learning rate per
element would be noise; a real gradient moves it by the full learning rate
each step).
"""
import copy
import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import transformers
import transformers.utils.logging
from safetensors.numpy import load_file

import hf_families
from accel_testing import run
from training_reference import batch_ids, read_log, token_batches, train_torch

transformers.utils.logging.disable_progress_bar()


@dataclass
class Loop:
    steps: int = 20
    lr: float = 3e-3
    weight_decay: float = 0.01
    clip: float = 1.0
    warmup: int = 5
    batch: int = 4  # examples per optimizer step
    seq: int = 16
    seed: int = 7
    accumulate: int = 1  # micro-batches per step (accel accumulates; PyTorch takes the batch whole)
    normalization: str = "global"
    precision: str = "no"  # accel's mixed-precision= (bf16: its policy's GEMMs in bf16)
    options: str = ""  # more accel-make-train-step options (e.g. GradScaler's settings)

    @property
    def micro_batch(self):
        return self.batch // self.accumulate

    def accel_options(self):
        options = (f"loss=cross-entropy optimizer=adamw lr={self.lr} weight-decay={self.weight_decay} "
                   f"clip-norm={self.clip} schedule=linear warmup-steps={self.warmup} total-steps={self.steps}")
        if self.accumulate > 1:
            options += f" accumulate={self.accumulate} normalization={self.normalization}"
        if self.precision != "no":
            options += f" mixed-precision={self.precision}"
        if self.options:
            options += " " + self.options
        return options

    def learning_rates(self):
        """The scheduled learning rate of each step (transformers' linear)."""
        opt = torch.optim.SGD([torch.zeros(1)], lr=self.lr)
        sched = transformers.get_scheduler("linear", opt, num_warmup_steps=self.warmup,
                                           num_training_steps=self.steps)
        lrs = []
        for _ in range(self.steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return np.array(lrs)


def ulp32(x):
    return float(np.spacing(np.float32(abs(x))))


def _data(family, loop, d):
    """Training data as accel-run reads it and the same batches for PyTorch:
    a noisy repeating token pattern for language models (windows of a token
    file), token sequences with a label that depends on them for
    classifiers (--data-array)."""
    rng = np.random.default_rng(5)
    if hf_families.task(family) == "causal-lm":
        pattern = rng.integers(0, hf_families.VOCAB, 23)
        tokens = np.resize(pattern, 8 * loop.batch * loop.seq + 1).astype(np.uint16)
        noise = rng.random(tokens.size) < 0.1
        tokens[noise] = rng.integers(0, hf_families.VOCAB, int(noise.sum()))
        tokens.tofile(os.path.join(d, "tokens.bin"))

        def batches():
            return token_batches(tokens, loop.batch, loop.seq, loop.steps, loop.seed)

        def loss(out, y):
            return torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), y.flatten())
        return ["--data", os.path.join(d, "tokens.bin")], batches, loss
    n = 6 * loop.batch
    ids = rng.integers(0, hf_families.VOCAB, (n, loop.seq)).astype(np.int64)
    labels = (ids[:, 0] % 3).astype(np.int64)
    np.save(os.path.join(d, "ids.npy"), ids)
    np.save(os.path.join(d, "labels.npy"), labels)

    def batches():
        for i in batch_ids(n, loop.batch, loop.steps, loop.seed):
            yield torch.from_numpy(ids[i]), torch.from_numpy(labels[i])

    def loss(out, y):
        return torch.nn.functional.cross_entropy(out.logits, y)
    return (["--data-array", f"input_ids={d}/ids.npy", "--data-array", f"labels={d}/labels.npy"],
            batches, loss)


def export_and_import(model, loop, d, opset=None):
    """`model` exported to ONNX at the loop's micro-batch (default
    arguments otherwise) and imported by accel-translate: the MLIR path."""
    onnx, mlir = os.path.join(d, "model.onnx"), os.path.join(d, "model.mlir")
    example = torch.zeros((loop.micro_batch, loop.seq), dtype=torch.int64)
    hf_families.export(model, onnx, example, optimize=False, config=True, opset=opset)
    run(["accel-translate", "--import-onnx", onnx, "-o", mlir])
    return mlir


def accel_train(d, mlir, data_args, loop, layout=None, name="ck", extra=()):
    """Compiles and runs accel's training loop on `mlir`; with `layout`
    (accel-shard options, e.g. "dp=2") on that many ranks of one thread
    each; `extra` accel-run options. Returns the save directory."""
    train = os.path.join(d, f"train-{name}.mlir")
    run(["accel-opt", mlir, f"--accel-make-train-step={loop.accel_options()}", "-o", train])
    ranks = []
    if layout:
        sharded = os.path.join(d, f"sharded-{name}.mlir")
        run(["accel-opt", train, f"--accel-shard={layout}", "-o", sharded])
        train = sharded
        size = 1
        for option in layout.split():
            size *= int(option.split("=")[1]) if option.split("=")[0] in ("dp", "tp") else 1
        ranks = ["--nproc-per-node", size]
    ck = os.path.join(d, name)
    run(["accel-run", train, "--weights", os.path.join(d, "model.safetensors"), *data_args,
         "--steps", loop.steps, "--seed", loop.seed, "--num-threads", 1 if layout else 2,
         "--save-dir", ck, "--quiet", *ranks, *extra])
    return ck


def whole_checkpoint(ck, steps):
    """The directory of checkpoint `steps` in `ck` with every tensor whole:
    the checkpoint itself, or (saved split over ranks) its consolidation by
    accel-run --consolidate."""
    saved = os.path.join(ck, f"checkpoint-{steps}")
    if os.path.exists(os.path.join(saved, "model.safetensors")):
        return saved
    whole = os.path.join(ck, f"whole-{steps}")
    if not os.path.exists(whole):
        run(["accel-run", "--consolidate", saved, "--save-dir", whole, "--quiet"])
    return whole


def train_three_ways(family, model, d, loop=Loop(), opset=None, layout=None, data=None):
    """Trains `model` (fp32, eval mode: exports carry no dropout) with accel,
    PyTorch fp32 and PyTorch float64; returns the measurements. `opset`
    exports at that opset (23: attention as ONNX's Attention op); `layout`
    trains accel under that distributed layout (accel_train); `data`
    replaces the family's data: (accel-run data options, a function
    yielding PyTorch's batches, the loss of model output and labels). The
    model is exported at the micro-batch size; accel accumulates
    `loop.accumulate` of them per step."""
    data_args, batches, loss_fn = data or _data(family, loop, d)
    mlir = export_and_import(model, loop, d, opset)
    ck = accel_train(d, mlir, data_args, loop, layout)
    accel_losses = [r["loss"] for r in read_log(os.path.join(ck, "log.jsonl"))]
    final = load_file(os.path.join(whole_checkpoint(ck, loop.steps), "model.safetensors"))
    initial = load_file(os.path.join(d, "model.safetensors"))

    # Checkpoint names are the export's; tied parameters appear once.
    names = {}
    for name in final:
        try:
            p = model.get_parameter(name)
        except AttributeError:
            continue
        names.setdefault(id(p), name)
    trained = {id(p) for p in model.parameters()}
    missing = [n for n, p in model.named_parameters() if id(p) not in names]
    assert not missing and set(names) == trained, f"{family}: parameters missing from the checkpoint: {missing}"
    for name in names.values():
        assert np.array_equal(initial[name], model.get_parameter(name).detach().numpy()), \
            f"{family}: {name}: accel starts from other weights than PyTorch"

    def torch_run(dtype):
        m = copy.deepcopy(model).to(dtype)
        grads = []

        def keep_grads(module):
            grads.append({n: module.get_parameter(n).grad.detach().abs().to(torch.float64).clone()
                          for n in names.values()})
        opt = torch.optim.AdamW(m.parameters(), lr=loop.lr, weight_decay=loop.weight_decay)
        losses = train_torch(m, batches(), loss_fn, opt, loop.clip, "linear", loop.warmup, loop.steps,
                             train_mode=False, after_backward=keep_grads if dtype == torch.float64 else None)
        params = {n: m.get_parameter(n).detach().to(torch.float64).numpy() for n in names.values()}
        return np.array(losses), params, grads

    l32, p32, _ = torch_run(torch.float32)
    l64, p64, g64 = torch_run(torch.float64)
    check_from_pretrained(family, model, whole_checkpoint(ck, loop.steps), final)
    la = np.array(accel_losses)
    result = measure(family, loop, la, l32, l64, initial, final, p32, p64, g64, list(names.values()))
    result["raw"] = dict(la=la, l32=l32, l64=l64, initial=initial, final=final, p32=p32, p64=p64, g64=g64)
    result["accel_run"] = dict(d=d, mlir=mlir, data_args=data_args, ck=ck)
    return result


def check_from_pretrained(family, model, checkpoint, final):
    """The checkpoint is a Hugging Face model directory: the family's Auto
    class loads it as it is, with no key missing or unexpected (buffers as
    transformers saves them), and holds accel's trained tensors."""
    assert os.path.exists(os.path.join(checkpoint, "config.json")), f"{checkpoint} has no config.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded, info = hf_families.auto_class(family).from_pretrained(checkpoint, output_loading_info=True)
    assert type(loaded) is type(model), f"{family}: from_pretrained made a {type(loaded).__name__}"
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"{family}: from_pretrained({checkpoint}) reports {problems}"
    state = loaded.state_dict()
    for name, tensor in final.items():
        assert np.array_equal(state[name].numpy(), tensor), f"{family}: {name} is not accel's"
    print(f"{family}: from_pretrained(checkpoint) loads accel's {len(final)} tensors, nothing missing")


def measure(family, loop, la, l32, l64, initial, final, p32, p64, g64, names):
    assert len(la) == loop.steps, f"{family}: accel logged {len(la)} steps"
    result = {"family": family, "failures": [], "params": {}}
    ea, e32 = np.abs(la - l64), np.abs(l32 - l64)
    worst32 = np.maximum.accumulate(e32)
    for t in range(loop.steps):
        bound = 2 * worst32[t] + 4 * ulp32(l64[t])
        if not ea[t] <= bound:
            result["failures"].append(f"step {t + 1} loss error {ea[t]:.3g} > {bound:.3g} "
                                      f"(PyTorch fp32's worst so far {worst32[t]:.3g})")
    result["loss_error"] = (float(ea.max() / np.abs(l64).max()), float(e32.max() / np.abs(l64).max()))

    # Silent elements: float64 gradient below 1e-10 of the step's largest
    # but not exactly zero throughout (an embedding row of a token never
    # seen has no gradient in any precision; it only decays, and is
    # compared like the rest).
    silent = {n: np.ones(initial[n].shape, bool) for n in names}
    zero = {n: np.ones(initial[n].shape, bool) for n in names}
    for step in g64:
        top = max(float(g.max()) for g in step.values())
        for n in names:
            silent[n] &= step[n].numpy() <= 1e-10 * top
            zero[n] &= step[n].numpy() == 0
    for n in names:
        silent[n] &= ~zero[n]
    noise_bound = 0.1 * float(loop.learning_rates().sum())
    worst = {"accel": 0.0, "torch32": 0.0}
    for n in names:
        p0 = initial[n].astype(np.float64)
        live = ~silent[n]
        entry = {"silent": int(silent[n].sum()), "elements": int(p0.size)}
        if live.any():
            update = (p64[n] - p0)[live]
            floor = 4 * ulp32(float(np.sqrt(np.mean(p64[n][live] ** 2)))) / float(np.sqrt(np.mean(update ** 2)))
            for who, p in (("accel", final[n].astype(np.float64)), ("torch32", p32[n])):
                err = (p - p64[n])[live]
                entry[who] = float(np.abs(err).max() / np.abs(update).max())
                entry[who + "_l2"] = float(np.linalg.norm(err) / np.linalg.norm(update))
                entry["floor"] = float(4 * ulp32(float(np.abs(p64[n]).max())) / np.abs(update).max())
                worst[who] = max(worst[who], entry[who])
            if not entry["accel_l2"] <= 2 * entry["torch32_l2"] + floor:
                result["failures"].append(f"{n}: update error (L2) {entry['accel_l2']:.3g} > 2 x PyTorch fp32's "
                                          f"{entry['torch32_l2']:.3g} + floor {floor:.3g}")
        if silent[n].any():
            move_a = float(np.abs(final[n] - p64[n])[silent[n]].max())
            move_32 = float(np.abs(p32[n] - p64[n])[silent[n]].max())
            entry.update(silent_accel=move_a, silent_torch32=move_32)
            if not move_a <= noise_bound:
                result["failures"].append(f"{n}: {int(silent[n].sum())} elements with no gradient moved "
                                          f"{move_a:.3g}, more than AdamW makes of rounding noise "
                                          f"({noise_bound:.3g}; PyTorch fp32 moved them {move_32:.3g})")
        result["params"][n] = entry
    for n, entry in result["params"].items():
        if "accel" in entry and not entry["accel"] <= 2 * worst["torch32"] + entry["floor"]:
            result["failures"].append(f"{n}: worst element's update error {entry['accel']:.3g} > 2 x PyTorch "
                                      f"fp32's worst {worst['torch32']:.3g}")
    result["update_error"] = (worst["accel"], worst["torch32"])
    result["update_error_l2"] = tuple(max(e.get(k, 0.0) for e in result["params"].values())
                                      for k in ("accel_l2", "torch32_l2"))
    return result


def report(result, label=""):
    la, l32 = result["loss_error"]
    ua, u32 = result["update_error"]
    silent = {n: e for n, e in result["params"].items() if e["silent"]}
    tag = f"{result['family']}{' ' + label if label else ''}"
    ra, r32 = result["update_error_l2"]
    print(f"{tag}: loss error accel {la:.2e} / PyTorch fp32 {l32:.2e}; update error, worst element: accel "
          f"{ua:.2e} / PyTorch fp32 {u32:.2e}, worst L2: accel {ra:.2e} / PyTorch fp32 {r32:.2e}; "
          f"{len(result['params'])} parameters")
    for n, e in silent.items():
        if e["silent"] != e["elements"] and e["silent"] * 1000 < e["elements"]:
            continue
        print(f"  {n}: {e['silent']} of {e['elements']} elements have no gradient; moved by accel "
              f"{e['silent_accel']:.2e}, by PyTorch fp32 {e['silent_torch32']:.2e}")
    for f in result["failures"]:
        print(f"  FAIL {f}")
    return not result["failures"]


def check_family(family, loop=Loop(), opset=None):
    """The standard on `family`, freshly initialized and perturbed; prints
    the table rows and exits non-zero on a failure. The first run also
    checks that the standard fails on a 1% error in one parameter."""
    from accel_testing import workdir
    ok = True
    for perturb in (False, True):
        label = "perturbed" if perturb else "fresh"
        d = workdir(f"fidelity-{family}-{label}")
        result = train_three_ways(family, hf_families.build(family, perturb=perturb), d, loop, opset)
        ok &= report(result, label)
        if not perturb:
            _control(family, result, loop)
    if not ok:
        raise SystemExit(f"{family}: accel's training is further from float64 than PyTorch fp32's")


def _control(family, result, loop):
    name = max(result["params"], key=lambda n: result["params"][n]["elements"])
    raw = result["raw"]
    final = dict(raw["final"])
    final[name] = (final[name] + 0.01 * (raw["p64"][name] - raw["initial"][name])).astype(np.float32)
    bad = measure(family, loop, raw["la"], raw["l32"], raw["l64"], raw["initial"], final, raw["p32"], raw["p64"],
                  raw["g64"], list(result["params"]))
    assert any(f.startswith(name + ":") for f in bad["failures"]), \
        f"{family}: a 1% error in {name}'s update passed the standard: {bad['failures']}"
    print(f"control: a 1% error in {name}'s update fails the standard")


def low_precision_parameters_ok(name, model, final, m32, mautocast):
    """Final parameters of a mixed-precision run: each one's distance from
    the fp32 run's, relative to its fp32 update, within 2x autocast's (one
    parameter is a few draws), and over the whole model within 1.5x."""
    ok = True
    totals = np.zeros(3)
    for pname, tensor in final.items():
        try:
            p0 = model.get_parameter(pname).detach().double().numpy()
        except AttributeError:
            continue  # a buffer
        p32 = m32.get_parameter(pname).detach().double().numpy()
        update = np.linalg.norm(p32 - p0)
        err_accel = np.linalg.norm(tensor.astype(np.float64) - p32)
        err_autocast = np.linalg.norm(mautocast.get_parameter(pname).detach().double().numpy() - p32)
        totals += (update ** 2, err_accel ** 2, err_autocast ** 2)
        if not err_accel <= 2 * err_autocast + 4 * np.spacing(np.float32(np.abs(p32).max())) * np.sqrt(p0.size):
            print(f"  FAIL {pname}: distance from fp32 {err_accel / update:.3e} of its update, autocast's "
                  f"{err_autocast / update:.3e}")
            ok = False
    rel_accel, rel_autocast = np.sqrt(totals[1] / totals[0]), np.sqrt(totals[2] / totals[0])
    print(f"{name}: parameters' distance from fp32, relative to the fp32 update: accel {rel_accel:.3e}, "
          f"autocast {rel_autocast:.3e}")
    return ok and rel_accel <= 1.5 * rel_autocast


def torch_autocast_run(model, loop, batches, loss_fn, autocast):
    """The fidelity loop in PyTorch fp32, the forward pass and loss under
    torch.autocast("cpu", bfloat16) when asked: (losses, trained model)."""
    m = copy.deepcopy(model)
    opt = torch.optim.AdamW(m.parameters(), lr=loop.lr, weight_decay=loop.weight_decay)
    sched = transformers.get_scheduler("linear", opt, num_warmup_steps=loop.warmup, num_training_steps=loop.steps)
    losses = []
    for inputs, labels in batches():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(m(inputs), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), loop.clip)
        opt.step()
        sched.step()
        losses.append(loss.item())
    return np.array(losses), m


def low_precision_losses_ok(name, accel, fp32, autocast):
    """bf16 losses track autocast's: measured against the fp32 run, at
    every step accel's deviation within 1.5x autocast's at that stage of
    training -- the larger of its largest deviation within 5 steps either
    side and its RMS over the run, one step's deviation being one draw of
    rounding noise that grows as training goes on -- plus 4 fp32 ulps of
    the loss; the mean deviation within 1.5x autocast's. Prints the
    curves."""
    dev_accel, dev_autocast = np.abs(accel - fp32), np.abs(autocast - fp32)
    near = np.array([dev_autocast[max(0, t - 5):t + 6].max() for t in range(len(fp32))])
    seen = np.maximum(near, np.sqrt(np.mean(dev_autocast ** 2)))
    bound = 1.5 * seen + 4 * np.spacing(np.abs(fp32).astype(np.float32))
    print(f"{name}: step, fp32 loss, |accel bf16 - fp32|, |autocast - fp32|")
    for t in range(len(fp32)):
        print(f"  {t + 1:3d} {fp32[t]:.6f} {dev_accel[t]:.3e} {dev_autocast[t]:.3e}"
              f"{'  FAIL' if dev_accel[t] > bound[t] else ''}")
    worst = float(np.max(dev_accel / bound))
    print(f"{name}: deviation from fp32, largest: accel bf16 {dev_accel.max():.3e}, autocast "
          f"{dev_autocast.max():.3e}; mean: accel bf16 {dev_accel.mean():.3e}, autocast {dev_autocast.mean():.3e}; "
          f"worst step at {worst:.2f} of the bound")
    return worst <= 1.0 and dev_accel.mean() <= 1.5 * dev_autocast.mean()
