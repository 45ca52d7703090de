"""Hostile answers against the problem sets' marking (issue 13: "100,000 hostile answers:
no crash, nothing slow, under 1 s per answer").

    python benchmarks/fuzz_answers.py [--answers 100000] [--jobs 2] [--seed 13]

Every answer is marked by marking.mark (what `tt problems grade` calls for each answer,
inside its per-answer time limit) against a part of the bank: variant 0's parts and
those of a few students, every kind (numbers, vectors, matrices, expressions, words,
letters, shapes, free text). The answers are drawn, from a fixed seed, in five families:

    random    random strings (1 to 300 characters) over an alphabet of digits, operators,
              brackets, letters, separators, Unicode look-alikes and control characters;
    mutated   the part's own key as a student writes it, with random edits (characters
              inserted, deleted, doubled, swapped, a huge exponent, brackets, a unit);
    bombs     cost bombs: towers of powers, deep brackets, long sums and products, huge
              numbers and exponents, nested functions, long lists, answers at and past the
              length limit;
    unicode   fullwidth and other-script digits, minus signs, superscripts, bidi controls,
              NUL, combining marks, surrogate-free oddities;
    words     the choices, letters and shapes in any case with punctuation and negations.

A crash is any exception out of mark() (grading would score the answer 0 as "could not be
checked", but it is a bug of ours), or a score outside [0, points]. The time of each
answer is the CPU time of its marking (process_time), so a loaded machine does not make
answers look slow; an answer still running after 10 s of wall time is stopped and counted
as a hang. Prints the counts, the slowest answers and the distribution of times; exits 1
on any crash, hang or answer over 1 s.
"""
from __future__ import annotations

import argparse
import multiprocessing
import random
import signal
import statistics
import time

LIMIT_S = 1.0
HANG_S = 10.0

ALPHABET = ("0123456789" * 3 + "+-*/^().,;[]{}eExX  \t\n_=#'\"\\abcdsqrtlogpi!%&|<>~`@$"
            "×·−–—²³⁻¹√∂πμσ\u00a0\u2009\u200b\u202e\ufeff１２３")
UNITS = ("bytes", "FLOPs", "MB", "steps", "%", "GB", "params", "kg")
WORDS = ("converges", "diverges", "oscillates", "central", "forward", "not", "no", "it",
         "the", "A", "B", "C", "D", "E", "a", "and", "or", "×", "x", "by")


def _tower(rng):
    base = rng.choice(["x", "2", "9", "(x+1)", "10", "(x**2+x+1)"])
    return "**".join([base] + [str(rng.randint(2, 99)) for _ in range(rng.randint(2, 6))])


def bombs(rng: random.Random) -> str:
    n = rng.randint(1, 12_000)
    pick = rng.randrange(16)
    if pick == 0:
        return _tower(rng)
    if pick == 1:
        return "(" * n + "1" + ")" * n
    if pick == 2:
        return "+".join(["x"] * min(n, 2000))
    if pick == 3:
        return "*".join(["(x+1)"] * rng.randint(2, 400))
    if pick == 4:
        return "9" * n
    if pick == 5:
        return f"1e{'9' * rng.randint(1, 60)}"
    if pick == 6:
        return "sqrt(" * rng.randint(1, 200) + "2" + ")" * rng.randint(0, 200)
    if pick == 7:
        return "exp(" * rng.randint(1, 50) + "x" + ")" * 50
    if pick == 8:
        return "[" + ", ".join(str(rng.randint(-9, 9)) for _ in range(min(n, 3000))) + "]"
    if pick == 9:
        return "[" * rng.randint(1, 100) + "1" + "]" * rng.randint(1, 100)
    if pick == 10:
        return f"({rng.choice(['x', '10**40*x', 'x+1'])} + 1)**{rng.randint(-99, 999)}"
    if pick == 11:
        return "0." + "1" * n
    if pick == 12:
        return "x" * n
    if pick == 13:
        return "-" * n + "1"
    if pick == 14:
        return "2^" * rng.randint(1, 40) + "2"
    return "log(" + "exp(" * 30 + "1000" + ")" * 31


def unicode_odd(rng: random.Random) -> str:
    digits = rng.choice(["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"])
    parts = [rng.choice(digits) for _ in range(rng.randint(1, 8))]
    extras = ["−", "⁻", "¹", "²", "½", "\u202e", "\x00", "\u0301", "\ufe0f", "e", ".", "·", "×",
              "\u2028", "\r", "ⅹ", "𝑥", "ｘ"]
    for _ in range(rng.randint(0, 6)):
        parts.insert(rng.randint(0, len(parts)), rng.choice(extras))
    return "".join(parts)


def words(rng: random.Random, part) -> str:
    pool = list(WORDS) + list(getattr(part, "choices", ())) + list("ABCDEFGHIJ")
    text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 8)))
    text = rng.choice([str.lower, str.upper, str.title, lambda s: s])(text)
    return text + rng.choice(["", ".", "!", "?", ";", ",", " ...", "'", '"'])


def mutated(rng: random.Random, key_text: str) -> str:
    text = list(key_text) or ["0"]
    for _ in range(rng.randint(1, 6)):
        op, i = rng.randrange(9), rng.randrange(len(text) + 1)
        if op == 0:
            text.insert(i, rng.choice(ALPHABET))
        elif op == 1 and text:
            del text[min(i, len(text) - 1)]
        elif op == 2:
            text = text[:i] + text[i:] * rng.randint(2, 40)
        elif op == 3 and len(text) > 1:
            j = rng.randrange(len(text))
            text[min(i, len(text) - 1)], text[j] = text[j], text[min(i, len(text) - 1)]
        elif op == 4:
            text.insert(i, f"e{rng.randint(-10**6, 10**6)}")
        elif op == 5:
            text = list("(" * rng.randint(1, 30)) + text + list(")" * rng.randint(0, 30))
        elif op == 6:
            text += list(" " + rng.choice(UNITS))
        elif op == 7:
            text = list("".join(text).replace(".", ","))
        else:
            text.insert(i, rng.choice(["**", "^", "x", "/0", "*x", "sqrt(", ")", "];["]))
    return "".join(text)


def answer(rng: random.Random, part, key_text: str) -> tuple[str, str]:
    family = rng.choices(["random", "mutated", "bombs", "unicode", "words"],
                         weights=[35, 35, 12, 8, 10])[0]
    if family == "random":
        return family, "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 300)))
    if family == "mutated":
        return family, mutated(rng, key_text)
    if family == "bombs":
        return family, bombs(rng)
    if family == "unicode":
        return family, unicode_odd(rng)
    return family, words(rng, part)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


PARTS: list = []


def _parts():
    """(answer key, part, key as a student writes it) of variant 0 and three students;
    built once in the parent, inherited by the forked workers."""
    if PARTS:
        return PARTS
    from grader.problems import build_set
    from grader.problems.core import fmt_value
    from grader.problems.variants import student_seed
    parts = []
    for seed in (None, *(student_seed("fuzz", "stage10", f"s{i}") for i in range(3))):
        for inst in build_set(seed):
            for p in inst.parts:
                parts.append((inst.answer_key(p), p, fmt_value(p.kind, p.answer)))
    PARTS.extend(parts)
    return PARTS


def run_chunk(args: tuple[int, int, int]) -> dict:
    """Mark `count` answers drawn from Random(seed, chunk): counts, crashes, the times."""
    seed, chunk, count = args
    from grader.problems.marking import mark
    parts = _parts()
    rng = random.Random(f"{seed}:{chunk}")
    signal.signal(signal.SIGALRM, _alarm)
    out = {"n": 0, "crashes": [], "hangs": [], "times": [], "slowest": [], "families": {},
           "scored": 0}
    for _ in range(count):
        key, part, key_text = rng.choice(parts)
        family, text = answer(rng, part, key_text)
        start = time.process_time()
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            m = mark(part, text)
            if not 0 <= m.score <= part.points:
                out["crashes"].append((key, text[:120], f"score {m.score} of {part.points}"))
            elif m.score > 0:
                out["scored"] += 1
        except _Hang:
            out["hangs"].append((key, text[:120]))
        except BaseException as exc:        # noqa: BLE001 - the point of the fuzz
            out["crashes"].append((key, text[:120], f"{type(exc).__name__}: {exc}"[:200]))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.process_time() - start
        out["n"] += 1
        out["times"].append(seconds)
        out["families"][family] = out["families"].get(family, 0) + 1
        out["slowest"].append((seconds, key, family, text[:80]))
        out["slowest"] = sorted(out["slowest"], reverse=True)[:5]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--answers", type=int, default=100_000)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args(argv)
    chunks = max(args.jobs * 8, 1)
    sizes = [args.answers // chunks + (i < args.answers % chunks) for i in range(chunks)]
    wall = time.perf_counter()
    print(f"{len(_parts())} parts of every kind")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        results = pool.map(run_chunk, [(args.seed, i, n) for i, n in enumerate(sizes)],
                           chunksize=1)
    wall = time.perf_counter() - wall
    times = sorted(t for r in results for t in r["times"])
    crashes = [c for r in results for c in r["crashes"]]
    hangs = [h for r in results for h in r["hangs"]]
    families: dict[str, int] = {}
    for r in results:
        for k, v in r["families"].items():
            families[k] = families.get(k, 0) + v
    slowest = sorted((s for r in results for s in r["slowest"]), reverse=True)[:5]
    over = sum(t > LIMIT_S for t in times)
    print(f"{len(times):,} answers ({', '.join(f'{k} {v:,}' for k, v in sorted(families.items()))})"
          f" in {wall:.0f} s wall, {sum(times):.0f} s CPU of marking, {args.jobs} jobs")
    print(f"scored above 0: {sum(r['scored'] for r in results):,}; crashes: {len(crashes)}; "
          f"hangs (> {HANG_S:g} s): {len(hangs)}; over {LIMIT_S:g} s of CPU: {over}")
    print(f"CPU seconds per answer: median {statistics.median(times) * 1000:.2f} ms, "
          f"99th percentile {times[int(len(times) * 0.99)] * 1000:.1f} ms, "
          f"99.9th {times[int(len(times) * 0.999)] * 1000:.1f} ms, max {times[-1] * 1000:.0f} ms")
    for seconds, key, family, text in slowest:
        print(f"  slowest: {seconds * 1000:.0f} ms  {key}  ({family})  {text!r}")
    for key, text, why in crashes[:20]:
        print(f"  CRASH {key}: {why}  on {text!r}")
    for key, text in hangs[:20]:
        print(f"  HANG {key}: {text!r}")
    return 1 if crashes or hangs or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
