"""Self-help benchmark: the BM25 article index and the language detector the acknowledgement uses.

Prints, for an index of N generated articles: the build time (best and median of several builds), the
memory the build allocates (tracemalloc peak), and the time per suggest() call (mean, p50, p99) over
seeded customer mails; then, in a fresh process so nothing else counts, the language detector for
three languages: its peak RSS (VmHWM) above the process before it, the first detection (which loads
the models) and the time per detection after that.

Run:  /work/venv/bin/python bench/selfhelp.py [--articles 500] [--queries 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway.autoreply.articles import Article, ArticleIndex  # noqa: E402

SEED = 20240601
LANGUAGES = ("en", "de", "fr")
SUPPORT = ("account login password reset invoice billing refund payment card export backup data api token limit "
           "error notification email delay spam delete workspace project member invite permission role sso saml "
           "integration webhook calendar mobile app sync upload attachment storage plan upgrade downgrade trial "
           "subscription tax receipt report dashboard filter search import csv template archive restore").split()
FILLER = ("the a to and of in is it for on with that this we you our my can not please when after since "
          "still again today yesterday help thanks hello team customer cannot works does").split()
# One sentence per language, about support matters, so the detector loads and uses all three models.
SENTENCES = {
    "en": "Hello, since this morning none of my colleagues can open the shared project board, please help.",
    "de": "Guten Tag, seit heute Morgen können meine Kollegen das gemeinsame Projektboard nicht mehr öffnen.",
    "fr": "Bonjour, depuis ce matin mes collègues ne peuvent plus ouvrir le tableau de projet partagé.",
}


def synthetic_words(rng: random.Random, n: int) -> list[str]:
    """Pronounceable made-up words, so the vocabulary is as large as a real help centre's."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def articles(rng: random.Random, n: int, vocabulary: list[str]) -> list[Article]:
    """N articles, each about two support topics, with a body of 150 to 400 words."""
    result = []
    for i in range(n):
        topics = rng.sample(SUPPORT, 2)
        words = topics * 6 + rng.sample(vocabulary, 40) + FILLER
        body = " ".join(rng.choice(words) for _ in range(rng.randint(150, 400)))
        keywords = (*topics, *rng.sample(vocabulary, 2))
        result.append(Article(title=f"{topics[0].title()} and {topics[1]} ({i})",
                              url=f"https://help.example/articles/{i}", keywords=keywords, body=body))
    return result


def mails(rng: random.Random, n: int, vocabulary: list[str]) -> list[str]:
    """Customer mails of 30 to 200 words: some support words, mostly filler and unknown words."""
    words = SUPPORT + FILLER * 4 + vocabulary[:500]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(30, 200))) for _ in range(n)]


def bench_index(n_articles: int, n_queries: int) -> None:
    rng = random.Random(SEED)
    vocabulary = synthetic_words(rng, 5000)
    corpus, queries = articles(rng, n_articles, vocabulary), mails(rng, n_queries, vocabulary)
    builds = []
    for _ in range(5):
        start = time.perf_counter()
        index = ArticleIndex.build(corpus)
        builds.append(time.perf_counter() - start)
    tracemalloc.start()
    ArticleIndex.build(corpus)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    times, suggested = [], 0
    for query in queries:
        start = time.perf_counter()
        suggested += len(index.suggest(query, 3))
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"index: {n_articles} articles, {sum(len(a.body.split()) for a in corpus)} body words")
    print(f"  build: best {1000 * min(builds):.1f} ms, median {1000 * statistics.median(builds):.1f} ms "
          f"(5 builds); tracemalloc peak {peak / 2**20:.1f} MiB")
    print(f"  suggest: {len(queries)} mails, mean {1e6 * statistics.fmean(times):.0f} µs, "
          f"p50 {1e6 * times[len(times) // 2]:.0f} µs, p99 {1e6 * times[int(0.99 * len(times))]:.0f} µs; "
          f"{suggested / len(queries):.2f} suggestions per mail")


def vm(field: str) -> int:
    """A VmRSS/VmHWM figure of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_detector() -> None:
    """Runs in a fresh process: build the detector, detect each language, print the figures as JSON."""
    from gateway.autoreply.language import _detector, detect_language

    base = vm("VmHWM")
    start = time.perf_counter()
    _detector(LANGUAGES)
    built = time.perf_counter() - start
    start = time.perf_counter()
    found = {code: detect_language(text, LANGUAGES) for code, text in SENTENCES.items()}
    first = time.perf_counter() - start
    rounds = 200
    start = time.perf_counter()
    for _ in range(rounds):
        for text in SENTENCES.values():
            detect_language(text, LANGUAGES)
    each = (time.perf_counter() - start) / (rounds * len(SENTENCES))
    print(json.dumps({"base_kib": base, "peak_kib": vm("VmHWM"), "rss_kib": vm("VmRSS"), "build_s": built,
                      "first_s": first, "each_s": each, "found": found}))


def bench_detector() -> None:
    run = subprocess.run([sys.executable, __file__, "--detector"], capture_output=True, text=True, check=True)
    figures = json.loads(run.stdout)
    print(f"language detector {'/'.join(LANGUAGES)} (fresh process): peak RSS {figures['peak_kib'] / 1024:.0f} MiB, "
          f"{(figures['peak_kib'] - figures['base_kib']) / 1024:.0f} MiB above the process before it was built")
    print(f"  build {1000 * figures['build_s']:.1f} ms; "
          f"first 3 detections (load models) {1000 * figures['first_s']:.0f} ms; "
          f"then {1e6 * figures['each_s']:.0f} µs per mail; detected {figures['found']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--detector", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.detector:
        return measure_detector()
    bench_index(args.articles, args.queries)
    bench_detector()


if __name__ == "__main__":
    main()
