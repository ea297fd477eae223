"""Time one optimizer step against torch.optim and against this machine's memory bandwidth.

Run with ``make bench`` (not part of ``make test``: timings are compared as ratios within one run,
never asserted in a unit test). Prints a table and writes ``benchmarks/results.md``.

Every registered optimizer (``optlib.OPTIMIZERS``, at its default hyperparameters) is timed, for each
size of float32 parameters, in interleaved rounds with its competitors: optlib's step, the finite
check that step starts with (:func:`optlib.optimizers.all_finite`), and, where the optimizer names a
``torch_equivalent``, torch.optim's default single-tensor path (``foreach=False``) and its fused C++
kernel (``fused=True``, where torch has one). It reports the medians and their ratios, the arrays
each step moves through memory, and optlib's time as a multiple of the least time those bytes take
at the copy bandwidth measured here with ``np.copyto``. Everything runs with one thread, then again
in a child process with two (numpy's BLAS and torch; optlib's elementwise rule is single-threaded).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
if __name__ == "__main__":  # before numpy and torch are imported (not when a test imports this file)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(THREADS)

import numpy as np  # noqa: E402

import machine  # noqa: E402  (benchmarks/machine.py, beside this script)
import optlib  # noqa: E402
from optlib import optimizers  # noqa: E402
from optlib.optimizers import accept_gradient, all_finite  # noqa: E402

try:
    import torch
except ImportError:  # the table then has optlib and the bandwidth bound only
    torch = None
try:  # the one-pass alternative the issue asked to measure: the rule as an expression string
    import numexpr
except ImportError:
    numexpr = None

LR = 1e-3
# optlib step / torch default at the largest size (the targets); Adam also / torch fused
TARGET_DEFAULT = {"SGD": 1.5}  # plain SGD is one fused pass in torch; every other optimizer: 1.0
TARGET_ADAM_FUSED = 2.0


def cases() -> dict:
    """name -> optimizer class, for every registered optimizer (read when called)."""
    return dict(optlib.OPTIMIZERS)


def arrays_moved(cls) -> tuple[int, int]:
    """(arrays optlib's step reads and writes, arrays the rule itself must read and write).

    The rule must read theta, g and its k state arrays and write theta and the state: 3 + 2k arrays,
    what a fused kernel moves. optlib's step adds one read of g (the finite check before anything is
    written) and, for a rule with a gradient point, the pass that writes it (reads theta and the
    state, writes the point).
    """
    k = len(cls.state_arrays)
    rule = 3 + 2 * k
    extra = 1 + (2 + k if cls.gradient_point is not None else 0)
    return rule + extra, rule


def timed_in_turns(contenders: dict, repeats: int) -> dict:
    """Median seconds of each contender, timed in interleaved rounds (a, b, c, a, b, c, ...), so that a
    slow spell of the machine slows every contender alike and the ratios stay put."""
    for fn in contenders.values():  # warm up: allocate state, fault pages in
        fn()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def bandwidth(n_bytes: int, repeats: int) -> float:
    """Bytes per second streamed by a copy (one read and one write of each byte) on warm buffers."""
    src = np.ones(n_bytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    seconds = timed_in_turns({"copy": lambda: np.copyto(dst, src)}, repeats)["copy"]
    return 2 * src.nbytes / seconds


def torch_optimizer(opt, theta: np.ndarray, g: np.ndarray, **path):
    """A torch.optim optimizer equivalent to opt on a copy of theta with gradient g, or None."""
    twin = opt.torch_equivalent()
    if torch is None or twin is None:
        return None
    name, kwargs = twin
    p = torch.nn.Parameter(torch.from_numpy(theta.copy()))
    p.grad = torch.from_numpy(g.copy())
    try:
        return getattr(torch.optim, name)([p], lr=LR, **kwargs, **path)
    except (RuntimeError, ValueError, TypeError):  # no fused kernel for this optimizer
        return None


def numexpr_step(name: str, theta: np.ndarray, g: np.ndarray):
    """SGD's or Adam's update written for numexpr, which evaluates an expression string in one pass,
    blockwise in the cache (the finite check not included), or None. Scalars are passed in theta's
    dtype so that the arithmetic stays float32, as numpy's and torch's."""
    if numexpr is None or name not in ("SGD", "Adam"):
        return None
    f32 = np.float32
    x, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    if name == "SGD":
        scalars = {"lr": f32(LR)}
        return lambda: numexpr.evaluate("x - lr * g", local_dict={"x": x, "g": g, **scalars}, out=x)
    b1, b2, t = 0.9, 0.999, 10
    scalars = {"b1": f32(b1), "c1": f32(1 - b1), "b2": f32(b2), "c2": f32(1 - b2), "lr": f32(LR),
               "bc1": f32(1 - b1**t), "bc2": f32(1 - b2**t), "eps": f32(1e-8)}

    def step():
        arrays = {"x": x, "g": g, "m": m, "v": v, **scalars}
        numexpr.evaluate("b1 * m + c1 * g", local_dict=arrays, out=m)
        numexpr.evaluate("b2 * v + c2 * g * g", local_dict=arrays, out=v)
        numexpr.evaluate("x - lr * (m / bc1) / (sqrt(v / bc2) + eps)", local_dict=arrays, out=x)
    return step


def contenders(cls, theta: np.ndarray, g: np.ndarray) -> dict:
    """The step functions to time for one optimizer: optlib's, its finite check, torch's paths, and
    numexpr's for SGD and Adam."""
    opt, x = cls(LR), theta.copy()
    opt.step(x, lambda _: g)  # the state exists, so the boundary rule checks g against it too
    fns = {"optlib": lambda: opt.step(x, lambda _: g),
           "check": lambda: all_finite(g),  # the finite check, the whole boundary of the engine before
           "boundary": lambda: accept_gradient(g, x, written=opt._state())}
    for path, kwargs in (("default", {"foreach": False}), ("fused", {"fused": True})):
        theirs = torch_optimizer(opt, theta, g, **kwargs)
        if theirs is not None:
            fns[path] = theirs.step
    one_pass = numexpr_step(cls.__name__, theta, g)
    if one_pass is not None:
        fns["numexpr"] = one_pass
    return fns


def block_size_sweep(theta: np.ndarray, g: np.ndarray, block_kib, repeats: int) -> list[str]:
    """Table lines: optlib's step time for each block size (each optimizer's sizes timed in turns)."""
    lines = ["| optimizer | " + " | ".join(f"{kib} KiB" for kib in block_kib) + " |",
             "|" + "---|" * (len(block_kib) + 1)]
    default = optimizers.BLOCK_BYTES
    for name, cls in cases().items():
        fns = {}
        for kib in block_kib:
            opt, x = cls(LR), theta.copy()

            def step(opt=opt, x=x, kib=kib):
                optimizers.BLOCK_BYTES = kib * 1024
                opt.step(x, lambda _: g)
            fns[kib] = step
        seconds = timed_in_turns(fns, repeats)
        optimizers.BLOCK_BYTES = default
        best = min(seconds.values())
        lines.append(f"| {name} | " + " | ".join(
            f"{'**' if t == best else ''}{t * 1e3:.2f}{'**' if t == best else ''}" for t in seconds.values()) + " |")
    return lines


def measure(sizes, repeats: int) -> dict:
    """Bandwidth and, per size and optimizer, the median seconds of each contender (JSON-friendly)."""
    if torch is not None:
        torch.set_num_threads(THREADS)
    if numexpr is not None:
        numexpr.set_num_threads(THREADS)
    load_before = os.getloadavg()[0]
    bw = bandwidth(256 << 20, repeats)
    rows = []
    for size in sorted(map(int, sizes)):
        rng = np.random.default_rng(0)
        theta = rng.normal(size=size).astype(np.float32)
        g = rng.normal(size=size).astype(np.float32)
        for name, cls in cases().items():
            seconds = timed_in_turns(contenders(cls, theta, g), repeats)
            rows.append({"n": size, "name": name, "seconds": seconds})
            print(f"[{THREADS} thread(s)] {size:.0e} {name}: "
                  + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in seconds.items()), flush=True)
    return {"threads": THREADS, "bandwidth": bw, "rows": rows, "load": (load_before, os.getloadavg()[0]),
            "torch": torch.__version__ if torch else None, "numexpr": numexpr.__version__ if numexpr else None}


def ms(t):
    return "-" if t is None else f"{t * 1e3:.3f}"


def ratio(a, b):
    return "-" if b is None else f"{a / b:.2f}"


def step_table(run: dict) -> str:
    """The main table of one run (one thread count)."""
    bw = run["bandwidth"]
    lines = ["| n | optimizer | optlib ms | of which boundary rule ms | finite check alone ms | torch default ms "
             "| torch fused ms | numexpr ms | optlib / default | optlib / fused | arrays moved: optlib (rule) "
             "| optlib / bandwidth bound |", "|" + "---|" * 12]
    for row in run["rows"]:
        s, cls = row["seconds"], optlib.OPTIMIZERS[row["name"]]
        ours, default, fused = s["optlib"], s.get("default"), s.get("fused")
        moved, rule = arrays_moved(cls)
        bound = moved * row["n"] * 4 / bw
        lines.append(f"| {row['n']:.0e} | {row['name']} | {ms(ours)} | {ms(s['boundary'])} | {ms(s['check'])} | "
                     f"{ms(default)} | {ms(fused)} | {ms(s.get('numexpr'))} | {ratio(ours, default)} | "
                     f"{ratio(ours, fused)} | {moved} ({rule}) | {ours / bound:.2f} |")
    return "\n".join(lines)


def verdicts(run: dict) -> list[str]:
    """Which targets one run meets at the largest size."""
    out = []
    largest = max(r["n"] for r in run["rows"])
    at_largest = [r["seconds"] for r in run["rows"] if r["n"] == largest]
    boundary = statistics.median(s["boundary"] / s["check"] for s in at_largest)
    out.append(f"- The boundary rule (accept_gradient: dtype, shape, overlap and the finite check) against the "
               f"finite check alone, the engine's whole boundary before: {boundary:.2f} (median over the "
               f"optimizers; target <= 1, within timing noise): {'met' if boundary <= 1.05 else 'NOT met'}")
    for row in run["rows"]:
        s, name = row["seconds"], row["name"]
        if row["n"] != largest or "default" not in s:
            continue
        limit = TARGET_DEFAULT.get(name, 1.0)
        mine, without_check = s["optlib"] / s["default"], (s["optlib"] - s["boundary"]) / s["default"]
        out.append(f"- {name}: optlib / torch default = {mine:.2f} (target <= {limit:g}): "
                   f"{'met' if mine <= limit else 'NOT met'}; without the boundary rule {without_check:.2f}")
        if name == "Adam" and "fused" in s:
            mine = s["optlib"] / s["fused"]
            out.append(f"- Adam: optlib / torch fused = {mine:.2f} (target <= {TARGET_ADAM_FUSED:g}): "
                       f"{'met' if mine <= TARGET_ADAM_FUSED else 'NOT met'}; without the boundary rule "
                       f"{(s['optlib'] - s['boundary']) / s['fused']:.2f}")
    return out


def description(run: dict, repeats: int) -> str:
    return (f"{machine.describe()}, numpy {np.__version__}, torch {run['torch'] or 'not installed'}, "
            f"numexpr {run['numexpr'] or 'not installed'}, "
            f"{run['threads']} thread(s); copy bandwidth {run['bandwidth'] / 1e9:.1f} GB/s; "
            f"optlib.optimizers.BLOCK_BYTES = {optimizers.BLOCK_BYTES // 1024} KiB; median of {repeats} "
            f"interleaved rounds; the machine's load average (1 min) {run['load'][0]:.1f} at the start and "
            f"{run['load'][1]:.1f} at the end (other work on the machine slows memory-bound steps unevenly)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--block-kib", type=int, nargs="*", default=[64, 128, 256, 512, 1024],
                        help="block sizes to compare at the largest size (none: skip)")
    parser.add_argument("--two-threads-sizes", type=float, nargs="*", default=[1e7],
                        help="sizes measured again with two threads (none: skip)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON (child runs)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args(argv)

    run = measure(args.sizes, args.repeats)
    if args.json:
        print("JSON " + json.dumps(run))
        return

    runs = [run]
    if args.two_threads_sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--json", "--repeats", str(args.repeats),
             "--sizes", *map(str, args.two_threads_sizes)],
            env={**os.environ, "BENCH_THREADS": "2"}, capture_output=True, text=True, check=True)
        runs.append(json.loads(child.stdout.split("JSON ", 1)[1]))

    sweep = ""
    if args.block_kib:
        largest = int(max(args.sizes))
        rng = np.random.default_rng(0)
        theta, g = rng.normal(size=largest).astype(np.float32), rng.normal(size=largest).astype(np.float32)
        sweep = (f"\n## Block size, n = {largest:.0e}, one thread\n\noptlib ms per step with `BLOCK_BYTES` set to "
                 "each size (the fastest in bold):\n\n"
                 + "\n".join(block_size_sweep(theta, g, args.block_kib, args.repeats)) + "\n")

    sections = []
    for r in runs:
        largest = max(row["n"] for row in r["rows"])
        sections.append(f"## {r['threads']} thread{'s' if r['threads'] > 1 else ''}\n\n"
                        f"Machine: {description(r, args.repeats)}.\n\n{step_table(r)}\n\n"
                        f"Targets at n = {largest:.0e}:\n\n" + "\n".join(verdicts(r)) + "\n")
    text = ("# Optimizer step benchmark\n\nWritten by `make bench` (benchmarks/bench_optimizers.py). What the "
            "columns mean, and why a target is missed: README.md in this folder.\n\n" + "\n".join(sections) + sweep)
    print(text)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
