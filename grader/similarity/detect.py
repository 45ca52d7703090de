"""Which submissions look alike, exercise by exercise: copydetect's winnowing fingerprints
(the algorithm of MOSS, Schleimer, Wilkerson and Aiken 2003), with the release's
boilerplate and the passages common in the class left out.

    found = find_similar("submissions/", threshold=0.5, jobs=2)
    found.pairs[0].a, .b, .score, .exercises[0].score, .exercises[0].slices_a

How, per exercise file:

1. The lines of the release's stub are removed from each file (sources.own_code), then its
   text is tokenized by copydetect (pygments' Python lexer): names become
   V, F or O, strings S, comments and whitespace vanish. So renaming variables, reformatting
   and rewriting comments change nothing; reordering statements or rewriting an expression
   does.
2. Its k-grams (K_NOISE characters of that token string) are hashed and winnowed (a window
   of WINDOW hashes keeps its smallest), so every match of K_GUARANTEE characters or more is
   found. Hashes found in the release's stub are dropped (copydetect's boilerplate).
3. A hash found in more than `common` submissions is dropped from the matching too (MOSS's
   -m): what many students wrote alike is the natural way to write it, not a sign that two
   of them worked together. It stays in each file's size, so it dilutes the score.
4. Pairs that share a remaining hash are compared by copydetect.compare_files: the share of
   each file's own (non-boilerplate) tokens covered by matching passages, sim_a and sim_b.

A pair's score on an exercise is (overlap_a + overlap_b) / (tokens_a + tokens_b); its overall
score the same sums over the exercises both wrote code for. A pair is listed when one
exercise scores at least `threshold` with at least MIN_OVERLAP matching tokens on each side.

copydetect hashes k-grams with Python's hash(), which is salted per interpreter: which
hashes a window keeps, and so every score, changed from run to run by a percent or so.
Here the k-grams are hashed by _stable_kgram_hashes instead (a polynomial hash of the code
points, mixed by splitmix64's finaliser), so the same class gives the same figures in any
process, on any run.
"""
from __future__ import annotations

import io
import itertools
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.classreport.progress import bar_for, pool_worker_init

K_NOISE = 25               # characters of the token string: shorter matches are noise (copydetect's default)
K_GUARANTEE = 30           # matches this long are always found (copydetect's default)
WINDOW = K_GUARANTEE - K_NOISE + 1
MIN_OVERLAP = 40           # matching tokens on each side before an exercise can flag a pair
COMMON = 10                # MOSS's -m: a passage in more submissions than this is common
DEFAULT_THRESHOLD = 0.6


def _stable_kgram_hashes(string: str, k: int) -> np.ndarray:
    """The hash of every k-gram of `string` (int64), the same in every process and run."""
    codes = np.frombuffer(string.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.array([], dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):                 # arithmetic modulo 2**64, on purpose
        for j in range(k):
            h = h * np.uint64(1_000_003) + codes[j:j + n]
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h.view(np.int64)


def _copydetect():
    import matplotlib
    matplotlib.use("Agg", force=True)     # copydetect imports pyplot: never a window
    import copydetect
    import copydetect.utils
    copydetect.utils.hashed_kgrams = _stable_kgram_hashes   # looked up by get_document_fingerprints
    return copydetect


@dataclass
class ExerciseMatch:
    exercise: str
    sim_a: float
    sim_b: float
    overlap_a: int
    overlap_b: int
    tokens_a: int
    tokens_b: int
    slices_a: list[tuple[int, int]]
    slices_b: list[tuple[int, int]]

    @property
    def score(self) -> float:
        total = self.tokens_a + self.tokens_b
        return (self.overlap_a + self.overlap_b) / total if total else 0.0

    @property
    def flags(self) -> bool:
        return min(self.overlap_a, self.overlap_b) >= MIN_OVERLAP


@dataclass
class Pair:
    a: str
    b: str
    exercises: list[ExerciseMatch]
    score: float                       # over every exercise both wrote code for

    def flagged(self, threshold: float) -> list[ExerciseMatch]:
        return [m for m in self.exercises if m.flags and m.score >= threshold]


@dataclass
class Similarity:
    threshold: float
    common: dict[str, int]                        # exercise -> the -m used
    students: list[str]
    texts: dict[tuple[str, str], str]             # (sid, exercise) -> the text compared: the
                                                  # student's own lines (sources.own_code)
    pairs: list[Pair]                             # the listed pairs, most similar first
    compared: int = 0                             # pairs of files compared in full
    possible: int = 0                             # pairs of files with code on both sides
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    empty: dict[str, int] = field(default_factory=dict)   # exercise -> files with no code of their own
    seconds: dict[str, float] = field(default_factory=dict)   # wall time of each step


def _boilerplate_hashes(texts: list[str]) -> np.ndarray:
    cd = _copydetect()
    hashes = set()
    for text in texts:
        fp = cd.CodeFingerprint("boilerplate.py", K_NOISE, WINDOW, fp=io.StringIO(text), language="python")
        hashes |= fp.hashes
    return np.array(sorted(hashes), dtype=np.int64)


_BOILERPLATE: dict[str, np.ndarray] = {}     # exercise -> the stub's hashes (set before forking)
_SHARED: dict[str, frozenset] = {}            # exercise -> the stub's lines


def _fingerprint(task):
    """(the student's own code, its CodeFingerprint or what went wrong)."""
    from grader.similarity.sources import own_code
    exercise, sid, text = task
    cd = _copydetect()
    try:
        text = own_code(text, _SHARED[exercise])
        return text, cd.CodeFingerprint(f"{sid}/{exercise}", K_NOISE, WINDOW, boilerplate=_BOILERPLATE[exercise],
                                  fp=io.StringIO(text), language="python")
    except Exception as exc:            # noqa: BLE001  one odd file never stops the class
        return text, f"{type(exc).__name__}: {str(exc)[:200]}"


def _map(fn, tasks, jobs, bar):
    """[fn(task) for task in tasks], in `jobs` forked processes when there is enough to do."""
    if jobs > 1 and len(tasks) > 8 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(jobs, initializer=pool_worker_init) as pool:
            out = []
            for item in pool.imap(fn, tasks, chunksize=max(1, min(16, len(tasks) // (4 * jobs)))):
                out.append(item)
                bar.update()
            return out
    out = []
    for task in tasks:
        out.append(fn(task))
        bar.update()
    return out


def _fingerprints(tasks, jobs, bar):
    """(own code, CodeFingerprint or the error) of each (exercise, sid, text), in order."""
    return _map(_fingerprint, tasks, jobs, bar)


def _slices(arr) -> list[tuple[int, int]]:
    arr = np.asarray(arr)
    if arr.ndim != 2 or arr.shape[1] == 0:
        return []
    return [(int(s), int(e)) for s, e in zip(arr[0], arr[1])]


_BY_EXERCISE: dict[str, dict] = {}           # exercise -> {sid: CodeFingerprint} (set before forking)


def _compare_exercise(task):
    """(exercise, files, [(a, b, ExerciseMatch)], pairs compared) for one exercise."""
    name, common = task
    cd = _copydetect()
    prints_of = _BY_EXERCISE[name]
    holders: dict[int, list[str]] = {}
    for sid, fp in prints_of.items():
        for h in fp.hashes:
            holders.setdefault(h, []).append(sid)
    frequent = {h for h, who in holders.items() if len(who) > common}
    for fp in prints_of.values():          # the coverage (each file's size) keeps them
        fp.hashes -= frequent
        for h in frequent:
            fp.hash_idx.pop(h, None)
    candidates = set()
    for h, who in holders.items():
        if 1 < len(who) <= common:
            candidates.update(itertools.combinations(sorted(who), 2))
    found = []
    for a, b in sorted(candidates):
        overlap, (sim_a, sim_b), (sa, sb) = cd.compare_files(prints_of[a], prints_of[b])
        if overlap:
            fa, fb = prints_of[a], prints_of[b]
            found.append((a, b, ExerciseMatch(name, float(sim_a), float(sim_b), int(round(sim_a * fa.token_coverage)),
                                              int(round(sim_b * fb.token_coverage)), int(fa.token_coverage),
                                              int(fb.token_coverage), _slices(sa), _slices(sb))))
    return name, len(prints_of), found, len(candidates)


def compare_class(submissions, threshold: float = DEFAULT_THRESHOLD, common: int = COMMON,
                  jobs: int | None = None, show_progress: bool = True, boilerplate=None) -> Similarity:
    """Every pair of `submissions` (sources.Submission), exercise by exercise."""
    from grader.similarity.sources import boilerplate as release_boilerplate
    from grader.similarity.sources import shared_lines
    shared = release_boilerplate() if boilerplate is None else boilerplate
    readable = [s for s in submissions if not s.unreadable]
    exercises = sorted({name for s in readable for name in s.files})
    _BOILERPLATE.clear()
    for name in exercises:
        _BOILERPLATE[name] = _boilerplate_hashes(shared.get(name, []))
    _SHARED.clear()
    for name in exercises:
        _SHARED[name] = shared_lines(shared.get(name, []))
    tasks = [(name, s.sid, s.files[name]) for s in readable for name in exercises if name in s.files]
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = bar_for(len(tasks), "fingerprinting", show_progress)
    started = time.perf_counter()
    prints = _fingerprints(tasks, jobs, bar)
    fingerprinted = time.perf_counter()
    bar.close()
    by_exercise: dict[str, dict[str, object]] = {name: {} for name in exercises}
    result = Similarity(threshold, {}, [s.sid for s in submissions],
                        {(sid, name): own for (name, sid, _), (own, _) in zip(tasks, prints)}, [])
    result.unreadable = [(s.sid, s.unreadable) for s in submissions if s.unreadable]
    # a file the intake left out (too large, unreadable, a second copy) is not compared either
    result.unreadable += [(s.sid, note) for s in readable for note in s.notes
                          if note.startswith("ignored ") and not note.endswith("not an exercise file")]
    for (name, sid, _), (_, fp) in zip(tasks, prints):
        if isinstance(fp, str):
            result.unreadable.append((sid, f"{name}: not compared ({fp})"))
        elif fp.token_coverage > 0:
            by_exercise[name][sid] = fp
        else:
            result.empty[name] = result.empty.get(name, 0) + 1
    matches: dict[tuple[str, str], list[ExerciseMatch]] = {}
    bar = bar_for(len(exercises), "comparing", show_progress)
    _BY_EXERCISE.clear()
    _BY_EXERCISE.update(by_exercise)
    for name, n, found, compared in _map(_compare_exercise, [(name, common) for name in exercises], jobs, bar):
        result.possible += n * (n - 1) // 2
        result.common[name] = common
        result.compared += compared
        for a, b, match in found:
            matches.setdefault((a, b), []).append(match)
    _BY_EXERCISE.clear()
    bar.close()
    result.seconds = {"fingerprinting": fingerprinted - started, "comparing": time.perf_counter() - fingerprinted}
    for (a, b), found in matches.items():
        both = [n for n in exercises if a in by_exercise[n] and b in by_exercise[n]]
        total = sum(by_exercise[n][a].token_coverage + by_exercise[n][b].token_coverage for n in both)
        score = sum(m.overlap_a + m.overlap_b for m in found) / total if total else 0.0
        pair = Pair(a, b, sorted(found, key=lambda m: -m.score), float(score))
        if pair.flagged(threshold):
            result.pairs.append(pair)
    result.pairs.sort(key=lambda p: (-len(p.flagged(threshold)), -p.score, p.a, p.b))
    return result


def find_similar(folder, threshold: float = DEFAULT_THRESHOLD, common: int = COMMON,
                 jobs: int | None = None, show_progress: bool = True) -> Similarity:
    """compare_class on a submissions folder (read as tt grade-all reads it)."""
    from grader.similarity.sources import read_submissions
    entries = [p for p in Path(folder).iterdir()] if Path(folder).is_dir() else []
    bar = bar_for(len(entries), "reading submissions", show_progress)
    subs, skipped = read_submissions(folder, progress=bar)
    bar.close()
    result = compare_class(subs, threshold, common, jobs, show_progress)
    result.skipped = skipped
    return result
