"""Time one optimizer step against torch.optim and against this machine's memory bandwidth.

Run with ``make bench`` (not part of ``make test``: timings are compared as ratios within one run,
never asserted in a unit test). Prints a table and writes ``benchmarks/results.md``.

For each optimizer and size (float32 parameters, one thread) it times, in turns, optlib's step, the
finite check that step starts with (:func:`optlib.optimizers.all_finite`), torch.optim's default
single-tensor path (``foreach=False``) and its fused C++ kernel (``fused=True``, where torch has
one). It reports the medians, their ratios, and optlib's time as a multiple of the least time the
step could take: the bytes it must move (read theta, g and the state, write theta and the state)
divided by the bandwidth measured here with ``np.copyto`` on warm buffers.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded, like the torch side below
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import machine  # noqa: E402  (benchmarks/machine.py, beside this script)
import optlib  # noqa: E402
from optlib import optimizers  # noqa: E402
from optlib.optimizers import BLOCK_BYTES, all_finite  # noqa: E402

try:
    import torch
except ImportError:  # the table then has optlib and the bandwidth bound only
    torch = None

# name -> (optlib constructor, arrays the step must stream: reads + writes, torch constructor or None)
CASES = {
    "SGD": (lambda: optlib.SGD(1e-3), 3,
            lambda p, **kw: torch.optim.SGD(p, lr=1e-3, **kw)),
    "Momentum": (lambda: optlib.Momentum(1e-3, mu=0.9), 5,
                 lambda p, **kw: torch.optim.SGD(p, lr=1e-3, momentum=0.9, **kw)),
    "EMAMomentum": (lambda: optlib.EMAMomentum(1e-2, beta=0.9), 5, None),
    "Nesterov": (lambda: optlib.Nesterov(1e-3, mu=0.9), 5,
                 lambda p, **kw: torch.optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True, **kw)),
    "Adagrad": (lambda: optlib.Adagrad(1e-2), 5,
                lambda p, **kw: torch.optim.Adagrad(p, lr=1e-2, **kw)),
    "RMSProp": (lambda: optlib.RMSProp(1e-3, beta=0.99), 5,
                lambda p, **kw: torch.optim.RMSprop(p, lr=1e-3, alpha=0.99, **kw)),
    "Adam": (lambda: optlib.Adam(1e-3), 7,
             lambda p, **kw: torch.optim.Adam(p, lr=1e-3, **kw)),
}
# torch optimizers with a fused CPU kernel
FUSED = {"SGD", "Momentum", "Nesterov", "Adagrad", "Adam"}
# optlib step / torch default at the largest size (the targets); Adam also / torch fused
TARGET_DEFAULT = {"SGD": 1.5}  # plain SGD is one fused pass in torch; every other optimizer: 1.0
TARGET_ADAM_FUSED = 3.0


def timed_in_turns(contenders: dict, repeats: int) -> dict:
    """Median seconds of each contender, timed in turns (a, b, c, a, b, c, ...), so that a slow spell
    of the machine slows every contender alike and the ratios stay put."""
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


def contenders(name: str, theta: np.ndarray, g: np.ndarray) -> dict:
    """The step functions to time for one optimizer: optlib's, its finite check, torch's paths."""
    make, _, make_torch = CASES[name]
    opt, x = make(), theta.copy()
    fns = {"optlib": lambda: opt.step(x, lambda _: g), "check": lambda: all_finite(g)}
    if torch is None or make_torch is None:
        return fns
    for path, kwargs in (("default", {"foreach": False}), ("fused", {"fused": True})):
        if path == "fused" and name not in FUSED:
            continue
        p = torch.nn.Parameter(torch.from_numpy(theta.copy()))
        p.grad = torch.from_numpy(g.copy())
        fns[path] = make_torch([p], **kwargs).step
    return fns


def block_size_sweep(theta: np.ndarray, g: np.ndarray, block_kib, repeats: int) -> list[str]:
    """Table lines: optlib's step time for each block size (each optimizer's sizes timed in turns)."""
    lines = ["| optimizer | " + " | ".join(f"{kib} KiB" for kib in block_kib) + " |",
             "|" + "---|" * (len(block_kib) + 1)]
    for name, (make, _, _) in CASES.items():
        fns = {}
        for kib in block_kib:
            optimizers.BLOCK_BYTES = kib * 1024  # read once, when the first step makes the scratch
            opt, x = make(), theta.copy()
            opt.step(x, lambda _: g)
            fns[kib] = lambda opt=opt, x=x: opt.step(x, lambda _: g)
        optimizers.BLOCK_BYTES = BLOCK_BYTES
        seconds = timed_in_turns(fns, repeats)
        best = min(seconds.values())
        lines.append(f"| {name} | " + " | ".join(
            f"{'**' if t == best else ''}{t * 1e3:.2f}{'**' if t == best else ''}" for t in seconds.values()) + " |")
    return lines


def machine_description(bw: float, repeats: int) -> str:
    return (f"{machine.describe()}, numpy {np.__version__}, "
            f"torch {torch.__version__ if torch else 'not installed'}, one thread; "
            f"copy bandwidth {bw / 1e9:.1f} GB/s; optlib.optimizers.BLOCK_BYTES = {BLOCK_BYTES // 1024} KiB; "
            f"median of {repeats} steps, each contender timed in turns")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--block-kib", type=int, nargs="*", default=[256, 512, 1024, 2048],
                        help="block sizes to compare at the largest size (none: skip)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(1)

    bw = bandwidth(256 << 20, args.repeats)
    rows = []  # (n, optimizer, {contender: seconds}, bandwidth bound in seconds)
    for size in sorted(map(int, args.sizes)):
        rng = np.random.default_rng(0)
        theta = rng.normal(size=size).astype(np.float32)
        g = rng.normal(size=size).astype(np.float32)
        for name, (_, arrays, _) in CASES.items():
            seconds = timed_in_turns(contenders(name, theta, g), args.repeats)
            rows.append((size, name, seconds, arrays * theta.nbytes / bw))
            print(f"{size:.0e} {name}: " + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in seconds.items()),
                  flush=True)

    def ms(t):
        return "-" if t is None else f"{t * 1e3:.3f}"

    def ratio(a, b):
        return "-" if b is None else f"{a / b:.2f}"

    lines = ["| n | optimizer | optlib ms | of which finite check ms | torch default ms | torch fused ms "
             "| optlib / default | optlib / fused | optlib / bandwidth bound |", "|" + "---|" * 9]
    for size, name, s, bound in rows:
        ours, default, fused = s["optlib"], s.get("default"), s.get("fused")
        lines.append(f"| {size:.0e} | {name} | {ms(ours)} | {ms(s['check'])} | {ms(default)} | {ms(fused)} "
                     f"| {ratio(ours, default)} | {ratio(ours, fused)} | {ours / bound:.2f} |")
    table = "\n".join(lines)

    verdicts = []
    largest = max(r[0] for r in rows)
    for size, name, s, _ in rows:
        if size != largest or "default" not in s:
            continue
        limit = TARGET_DEFAULT.get(name, 1.0)
        mine, without_check = s["optlib"] / s["default"], (s["optlib"] - s["check"]) / s["default"]
        verdicts.append(f"- {name}: optlib / torch default = {mine:.2f} (target <= {limit}): "
                        f"{'met' if mine <= limit else 'NOT met'}; without the finite check "
                        f"{without_check:.2f}")
        if name == "Adam" and "fused" in s:
            mine = s["optlib"] / s["fused"]
            verdicts.append(f"- Adam: optlib / torch fused = {mine:.2f} (target <= {TARGET_ADAM_FUSED:g}): "
                            f"{'met' if mine <= TARGET_ADAM_FUSED else 'NOT met'}")

    sweep = ""
    if args.block_kib:
        sweep_lines = block_size_sweep(theta, g, args.block_kib, args.repeats)
        sweep = (f"\n## Block size, n = {largest:.0e}\n\noptlib ms per step with `BLOCK_BYTES` set to each size "
                 "(the fastest in bold):\n\n" + "\n".join(sweep_lines) + "\n")

    description = machine_description(bw, args.repeats)
    print(description, table, "\n".join(verdicts), sweep, sep="\n")
    out = Path(args.out)
    out.write_text("# Optimizer step benchmark\n\nWritten by `make bench` (benchmarks/bench_optimizers.py). "
                   "What the columns mean, and why a target is missed: README.md in this folder.\n\n"
                   f"Machine: {description}.\n\n{table}\n\n## Targets at n = {largest:.0e}\n\n"
                   + "\n".join(verdicts) + "\n" + sweep)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
