"""Hardware-aware NAS against the MobileNetV2 width family on an estimated device (issue 6).

1. Runs the default search (what `edgebench search --device myriadx --latency 15ms` runs: the default task, the
   cached default teacher, the proxy recipe) into a fresh folder and prints its wall time, the time spent training
   candidates and baselines, and the search overhead outside training.
2. Unless ``--no-final``: retrains the searched front and every baseline width with one final recipe (32x32, KD)
   over three seeds, and prints both fronts by mean test top-1, whether the searched front dominates, the best of
   each under the budget, and the proxy's Kendall tau with the final accuracies of those networks.

Latencies are the myriadx profile's cost-model estimates (``source=estimated``: no stick is attached here), the
same model for both families (the LUT of the space and the whole-network estimate agree to 1e-6 ms on MBV2-1.0).

Usage: python benchmarks/search.py [--budget 15ms] [--trials 16] [--seeds 3] [--final-epochs 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

from edgebench import api, pareto
from edgebench.data import load_data
from edgebench.distill import get_loss, train
from edgebench.distill.teacher import default_teacher
from edgebench.distill.train import FINAL
from edgebench.search.space import ArchSpec, get_space
from edgebench.units import parse_ms


def final_accuracy(networks: dict[str, ArchSpec | str], seeds: int, epochs: int) -> dict[str, float]:
    """Mean test top-1 of each network over ``seeds`` runs of the final recipe (KD from the default teacher)."""
    data, teacher, loss = load_data(), default_teacher(None).module, get_loss("kd")
    space = get_space("mbv2-cifar")
    means = {}
    for label, net in networks.items():
        runs = []
        for seed in range(seeds):
            student = space.build(net) if isinstance(net, ArchSpec) else net
            _, result = train(student, data, loss, teacher, replace(FINAL, epochs=epochs, seed=seed))
            runs.append(result.test_top1_pct)
        means[label] = statistics.mean(runs)
        print(f"  {label:28} " + " ".join(f"{a:6.2f}" for a in runs) + f"  mean {means[label]:6.2f}", flush=True)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", default="15ms")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--final-epochs", type=int, default=FINAL.epochs)
    parser.add_argument("--no-final", action="store_true", help="only time the default search")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    budget_ms = parse_ms(args.budget)
    out = args.out or Path(tempfile.mkdtemp(prefix="edgebench-search-"))
    started = time.perf_counter()
    result = api.search("myriadx", args.budget, trials=args.trials, out=out)
    wall = time.perf_counter() - started
    rows, base = result.candidates, result.baseline
    training = rows["train_s"].sum() + base["train_s"].sum()
    counts = rows["status"].value_counts().to_dict()
    print(f"default search, myriadx {budget_ms:g} ms, {args.trials} trials: {counts}; fastest in space "
          f"{result.fastest_ms:.3f} ms ({result.latency_source}); results in {result.out_dir}")  # fmt: skip
    print(f"wall {wall:.0f} s; training (candidates + baseline) {training:.0f} s; overhead outside training "
          f"{wall - training:.1f} s = {100 * (wall - training) / wall:.1f} % of wall time")  # fmt: skip
    if args.no_final:
        return
    front = result.front
    networks: dict[str, ArchSpec | str] = {f"trial {r.trial}": ArchSpec.from_json(r.arch)
                                           for r in front.itertuples()}  # fmt: skip
    networks |= {str(name): str(name) for name in base["name"]}
    print(f"\nfinal recipe: {args.final_epochs} epochs at 32x32, kd, {args.seeds} seeds (test top-1 %)")
    final = final_accuracy(networks, args.seeds, args.final_epochs)
    searched = pd.DataFrame({"net": [f"trial {t}" for t in front["trial"]], "ms": front["predicted_ms"].to_numpy(),
                             "proxy": front["val_top1_pct"].to_numpy()})  # fmt: skip
    baseline = pd.DataFrame({"net": base["name"], "ms": base["latency_ms"], "proxy": base["val_top1_pct"]})
    for table in (searched, baseline):
        table["acc"] = table["net"].map(final)
    s_front, b_front = pareto.front(searched, "acc", "ms"), pareto.front(baseline, "acc", "ms")
    print(
        "\nsearched front:\n" + s_front.to_string(index=False) + "\nbaseline front:\n" + b_front.to_string(index=False)
    )
    print(f"searched front dominates the baseline front: {pareto.dominates(s_front, b_front, 'acc', 'ms')}")
    under = searched[searched["ms"] <= budget_ms]
    s_best = under.sort_values(["acc", "ms"], ascending=[False, True]).iloc[0]
    b_under = baseline[baseline["ms"] <= budget_ms].sort_values(["acc", "ms"], ascending=[False, True])
    if b_under.empty:
        print(f"no baseline width meets {budget_ms:g} ms")
    else:
        b_best = b_under.iloc[0]
        print(f"at {budget_ms:g} ms: searched {s_best.net} {s_best.acc:.2f} % at {s_best.ms:.3f} ms; baseline "
              f"{b_best.net} {b_best.acc:.2f} % at {b_best.ms:.3f} ms: {s_best.acc - b_best.acc:+.2f} points, "
              f"{100 * (1 - s_best.ms / b_best.ms):+.1f} % faster")  # fmt: skip
        more_accurate = under[under["acc"] >= b_best.acc + 1]
        as_accurate_faster = under[(under["acc"] >= b_best.acc) & (under["ms"] <= 0.87 * b_best.ms)]
        met = not (more_accurate.empty and as_accurate_faster.empty)
        faster = ", ".join(as_accurate_faster["net"]) or "none"
        print(f"target: a searched student >= 1 point more accurate than {b_best.net} ({len(more_accurate)} found), "
              f"or as accurate and >= 13 % faster ({faster}): {met}")  # fmt: skip
    both = pd.concat([searched, baseline])
    tau = kendalltau(both["proxy"], both["acc"]).statistic
    print(f"proxy (val top-1 after the search's proxy training) vs final test top-1 over {len(both)} networks: "
          f"Kendall tau {tau:.2f}")  # fmt: skip
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
