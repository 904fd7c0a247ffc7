"""How fast and how big the core is: latency per message, throughput, start-up and memory.

    python benchmarks/core_benchmark.py [--runs 5] [--intents 10000] [--shipped-only]

Measures, on the shipped catalogue and on a generated catalogue of --intents intents:
- per-message latency of `SupportBot.reply` (p50, p99) and messages per second, over the project's
  labelled message sets (tests/data) for the real catalogue and generated messages for the big one;
- start-up to first answer: a fresh `python -m service ask ...` process, wall clock, cold (the
  intent model trained from the catalogue: a new catalogue or a first start), warm (the model
  taken from the model cache, as on every later start with the same catalogue) and built (the model
  `neogenesis-bot warm` put beside the catalogue, as a deploy's bin/post_compile does);
- peak memory (max RSS) of a process that loads the catalogue, trains the model and answers, and of
  one that loads the built model instead.
Each figure is the median of --runs runs. Targets (shipped catalogue): p50 <= 5 ms, p99 <= 30 ms,
start-up to first answer <= 2 s, peak memory <= 300 MB. The generated catalogue has no target: the
model holds a weight per intent and feature, so 10,000 intents would need gigabytes; 1,000 is the
default.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import SupportBot  # noqa: E402
from bot.model_cache import SHIPPED  # noqa: E402
from bot.loading import default_intents_dir, load_catalogue  # noqa: E402
from bot.records import Message  # noqa: E402

DATA = ROOT / "tests" / "data"


def real_messages() -> list[str]:
    texts = []
    for name in ("dev.yaml", "heldout.yaml", "general-chat.yaml"):
        texts += [case["text"] for case in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))]
    return texts


def generate_catalogue(target: Path, intents: int, seed: int = 7) -> list[str]:
    """A catalogue of `intents` generated FAQ intents (plus the real frame files); returns test messages."""
    rng = random.Random(seed)
    from spellchecker import SpellChecker

    words = [w for w, n in SpellChecker().word_frequency.dictionary.items() if w.isalpha() and 4 <= len(w) <= 10 and n > 2000]
    rng.shuffle(words)
    words = words[:20000]
    filler = "how do i can you what is the for my with and does it".split()
    shutil.copytree(default_intents_dir(), target, ignore=shutil.ignore_patterns("*.md"))
    entries, messages = [], []
    for number in range(intents):
        topic = rng.sample(words, 4)
        examples = []
        for _ in range(6):
            picked = rng.sample(topic, 3) + rng.sample(words, 2) + rng.sample(filler, 3)
            rng.shuffle(picked)
            examples.append(" ".join(picked))
        entries.append(
            {
                "id": f"generated-{number}",
                "category": "products",
                "question": f"What about {' '.join(topic)}?",
                "examples": examples,
                "answer": f"Generated answer {number} about {' '.join(topic)}.",
            }
        )
        if number % 7 == 0:
            messages.append(" ".join(rng.sample(topic, 3) + rng.sample(filler, 4)))
    for start in range(0, intents, 1000):
        (target / f"generated-{start:05d}.yaml").write_text(
            yaml.safe_dump({"intents": entries[start : start + 1000]}, sort_keys=False), encoding="utf-8"
        )
    messages += [" ".join(rng.sample(words, rng.randint(2, 12))) for _ in range(len(messages))]
    return messages


def latency(bot: SupportBot, messages: list[str], passes: int = 2) -> dict:
    for text in messages[:50]:  # warm caches as a running service would be
        bot.reply(Message(text))
    timings = []
    started = time.perf_counter()
    for _ in range(passes):
        for text in messages:
            t0 = time.perf_counter()
            bot.reply(Message(text))
            timings.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    timings.sort()
    return {
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p99_ms": 1000 * timings[int(len(timings) * 0.99)],
        "max_ms": 1000 * timings[-1],
        "per_second": len(timings) / elapsed,
    }


def startup_to_first_answer(intents_dir: Path, model_cache: str = "off") -> float:
    env = {**os.environ, "BOT_INTENTS_DIR": str(intents_dir), "BOT_LOG_LEVEL": "WARNING", "BOT_MODEL_CACHE": model_cache}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "service", "ask", "how long does recovery last"], capture_output=True, text=True, env=env, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return elapsed


def peak_memory_mb(intents_dir: Path) -> float:
    probe = (
        "import resource, sys; sys.path.insert(0, %r)\n"
        "from bot.core import SupportBot; from bot.records import Message\n"
        "bot = SupportBot.load(%r); bot.reply(Message('how long does recovery last'))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    ) % (str(ROOT), str(intents_dir))
    env = {**os.environ, "BOT_MODEL_CACHE": "off"}  # the worst case: training included
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return int(result.stdout.strip()) / 1024


def median_of(runs: int, measure) -> dict | float:
    results = [measure() for _ in range(runs)]
    if isinstance(results[0], dict):
        return {key: statistics.median(r[key] for r in results) for key in results[0]}
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--intents", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--shipped-only", action="store_true", help="skip the generated catalogue")
    args = parser.parse_args()

    report: dict = {"machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"}
    with tempfile.TemporaryDirectory() as copy:
        # the shipped catalogue without a model `warm` may have put beside it: cold means training
        real_dir = Path(shutil.copytree(default_intents_dir(), Path(copy) / "intents", ignore=shutil.ignore_patterns(SHIPPED)))
        real_bot = SupportBot(load_catalogue(real_dir))
        messages = real_messages()
        report["real"] = {
            "intents": len(real_bot.catalogue.intents),
            "messages": len(messages),
            **median_of(args.runs, lambda: latency(real_bot, messages, passes=1)),
            "startup_cold_s": median_of(args.runs, lambda: startup_to_first_answer(real_dir)),
            "peak_memory_mb": median_of(args.runs, lambda: peak_memory_mb(real_dir)),
        }
        with tempfile.TemporaryDirectory() as cache:
            startup_to_first_answer(real_dir, cache)  # fills the cache
            report["real"]["startup_warm_s"] = median_of(args.runs, lambda: startup_to_first_answer(real_dir, cache))
        # as a deploy built with bin/post_compile starts: the model `warm` trained, beside the catalogue
        subprocess.run([sys.executable, "-m", "service", "warm"], env={**os.environ, "BOT_INTENTS_DIR": str(real_dir)}, cwd=ROOT, check=True, capture_output=True)
        report["real"]["startup_shipped_s"] = median_of(args.runs, lambda: startup_to_first_answer(real_dir))
        report["real"]["peak_memory_mb_shipped"] = median_of(args.runs, lambda: peak_memory_mb(real_dir))

    with tempfile.TemporaryDirectory() as scratch:
        if args.shipped_only:
            return _print(report, args)
        big_dir = Path(scratch) / "intents"
        big_messages = generate_catalogue(big_dir, args.intents)
        started = time.perf_counter()
        big_bot = SupportBot(load_catalogue(big_dir))
        build = time.perf_counter() - started
        report["generated"] = {
            "intents": len(big_bot.catalogue.intents),
            "messages": len(big_messages),
            "load_and_index_s": build,
            **median_of(args.runs, lambda: latency(big_bot, big_messages, passes=1)),
            "startup_cold_s": median_of(max(1, args.runs // 2), lambda: startup_to_first_answer(big_dir)),
            "peak_memory_mb": median_of(max(1, args.runs // 2), lambda: peak_memory_mb(big_dir)),
        }

    _print(report, args)


def _print(report: dict, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"core benchmark, medians of {args.runs} runs ({report['machine']})")
    for name in ("real", "generated"):
        if name not in report:
            continue
        r = report[name]
        print(
            f"  {name:9} {r['intents']:>6} intents  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
            f"max {r['max_ms']:.1f} ms  {r['per_second']:.0f} msg/s  start-up to first answer "
            f"{r['startup_cold_s']:.2f} s cold (training)" + (f", {r['startup_warm_s']:.2f} s warm" if "startup_warm_s" in r else "")
            + (f", {r['startup_shipped_s']:.2f} s built (warm)" if "startup_shipped_s" in r else "")
            + f"  peak memory {r['peak_memory_mb']:.0f} MB training"
            + (f", {r['peak_memory_mb_shipped']:.0f} MB built" if "peak_memory_mb_shipped" in r else "")
        )


if __name__ == "__main__":
    main()
