"""Figures quoted in the README and the documentation come from the committed result files.

Two kinds of claims are checked, in the README and every page under ``docs/`` (code blocks, inline code and
HTML comments are not claims):

- **Marked blocks.** A line ``<!-- figures: SOURCE[, SOURCE ...] -->`` marks the table or paragraph that
  follows it (up to the next blank line) as quoted from SOURCE: a file or folder of the repository, or
  ``git:COMMIT:PATH`` for a file as committed at an earlier commit (the evidence page quotes older runs). Every
  decimal number of the block (``0.163``, ``53.3``) must be found in a source, rounded to the decimals shown,
  as it is or as a percentage (``0.53319444`` backs ``53.3``); every multiplier (``94x``) must appear in a
  source as written. Integers (counts, horizons, nominal levels) are not checked.
- **Unmarked claims that must be marked.** A speed-up multiplier in a sentence about speed (``faster``,
  ``slower``, ``speed``) must be in ``benchmarks/results/speed.md`` unless its block is marked; and a table row
  that names a model of a committed benchmark run (a cell starts with a backticked label of a
  ``leaderboard.csv``) and quotes two or more decimal numbers must sit in a marked block.

Blocks included from result files with ``--8<-- "FILE"`` (the snippets extension) are the files themselves and
need no check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"
SPEED = RESULTS / "speed.md"
TEXT_SUFFIXES = {".md", ".csv", ".txt", ".json"}

MARKER = re.compile(r"<!--\s*figures:\s*(?P<sources>.*?)\s*-->")
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")
MULTIPLIER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?x\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 2,166.47 in Markdown (CSV commas separate fields)
SPEED_WORDS = re.compile(r"faster|slower|speed", re.I)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced code blocks, inline code, HTML comments and link targets (line count kept)."""
    text = re.sub(r"^(```|~~~).*?^\1", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S | re.M)
    text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "``", text)
    return re.sub(r"\]\([^)\s]*\)", "]()", text)


@cache
def source_text(spec: str) -> str:
    """The text of one figures source: a file, a folder (its text files) or ``git:COMMIT:PATH``."""
    if spec.startswith("git:"):
        _, commit, path = spec.split(":", 2)
        if shutil.which("git") is None or not (ROOT / ".git").exists():
            pytest.skip("git history is not available to read earlier result files")
        run = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, f"figures source {spec!r}: {run.stderr.strip()}"
        return run.stdout
    path = ROOT / spec
    assert path.exists(), f"figures source {spec!r} does not exist"
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES)
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)
    return path.read_text(encoding="utf-8", errors="replace")


@cache
def source_numbers(text: str) -> tuple[float, ...]:
    tokens = NUMBER.findall(text) + [t.replace(",", "") for t in THOUSANDS.findall(text)]
    return tuple(float(t) for t in tokens)


def backed(figure: str, texts: list[str]) -> bool:
    """Whether a decimal figure (or a multiplier such as ``94x``) appears in one of the source texts."""
    if figure.endswith("x"):
        return any(re.search(rf"(?<![\w.]){re.escape(figure)}\b", t) for t in texts)
    value = float(figure)
    decimals = len(figure.split(".")[1])
    tolerance = 0.5 * 10**-decimals + 1e-9
    for t in texts:
        for x in source_numbers(t):
            if abs(x - value) <= tolerance or abs(100 * x - value) <= tolerance:
                return True
    return False


def marked_blocks(text: str) -> list[tuple[int, list[str], str]]:
    """(line number, sources, block text) for every figures marker of a page."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = MARKER.match(line.strip())  # a marker is a line of its own (not one quoted in inline code)
        if not m:
            continue
        block, j = [], i + 1
        while j < len(lines) and (lines[j].strip() or not block):
            block.append(lines[j])
            j += 1
        sources = [s.strip() for s in m.group("sources").split(",") if s.strip()]
        out.append((i + 1, sources, "\n".join(block)))
    return out


def unbacked_figures(text: str) -> list[str]:
    """Every figure of the page's marked blocks that its sources do not contain, as ``line: figure``."""
    bad = []
    for line, sources, block in marked_blocks(text):
        assert sources, f"line {line}: a figures marker names no source"
        texts = [source_text(s) for s in sources]
        prose = _prose(block)
        for figure in DECIMAL.findall(prose) + MULTIPLIER.findall(prose):
            if not backed(figure, texts):
                bad.append(f"line {line}: {figure} (not in {', '.join(sources)})")
    return bad


def _marked_lines(text: str) -> set[int]:
    lines = set()
    for line, _, block in marked_blocks(text):
        lines.update(range(line + 1, line + 1 + len(block.splitlines())))
    return lines


@cache
def benchmark_labels() -> frozenset[str]:
    import csv

    labels = set()
    for board in RESULTS.rglob("leaderboard.csv"):
        with board.open(encoding="utf-8") as f:
            labels.update(row["model"] for row in csv.DictReader(f))
    return frozenset(labels)


def unmarked_claims(text: str) -> list[str]:
    """Speed multipliers not in speed.md, and benchmark table rows, outside marked blocks."""
    marked = _marked_lines(text)
    speed = SPEED.read_text(encoding="utf-8")
    raw_lines = text.splitlines()
    bad = []
    for n, line in enumerate(_prose(text).splitlines(), start=1):
        if n in marked:
            continue
        if SPEED_WORDS.search(line):
            bad += [
                f"line {n}: {x} (not in {SPEED.name})"
                for x in MULTIPLIER.findall(line)
                if not backed(x, [speed])
            ]
        raw = raw_lines[n - 1]
        cells = raw.split("|")[1:-1] if raw.lstrip().startswith("|") else []
        labels = [m.group(1) for c in cells if (m := re.fullmatch(r"\s*`([^`]+)`.*", c))]
        named = [x for x in labels if x in benchmark_labels()]
        if named and len(DECIMAL.findall(line)) >= 2:
            bad.append(f"line {n}: benchmark row `{named[0]}` without a figures marker")
    return bad


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_quoted_figures_are_in_the_result_files(page):
    text = page.read_text(encoding="utf-8")
    problems = unbacked_figures(text) + unmarked_claims(text)
    assert not problems, f"{page.relative_to(ROOT)}: figures not backed by committed results:\n" + "\n".join(
        problems
    )


def test_the_speed_and_benchmark_pages_quote_marked_figures():
    """The pages that quote the committed benchmark and speed results do so through markers or snippets, so
    the test above has something to check."""
    for page in ("benchmark.md", "calibration.md", "evidence.md", "choosing-settings.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        assert marked_blocks(text) or "--8<--" in text, f"docs/{page} quotes no marked figures"
    assert '--8<-- "benchmarks/results/speed.md' in (DOCS / "performance.md").read_text(encoding="utf-8")


def test_the_checker_catches_figures_that_are_not_in_the_results():
    leaderboard = "benchmarks/results/full/leaderboard.csv"
    page = f"<!-- figures: {leaderboard} -->\n| `hist-vol-rw` | 0.163 | 54.2 / 80.3 / 93.4 |\n"
    assert unbacked_figures(page) == []  # 0.16251818 and 0.54166667 ... as percentages
    typo = page.replace("0.163", "0.168").replace("80.3", "83.0")
    assert unbacked_figures(typo) == [
        f"line 1: 0.168 (not in {leaderboard})",
        f"line 1: 83.0 (not in {leaderboard})",
    ]
    # a benchmark row without a marker, and a speed claim that speed.md does not hold
    assert unmarked_claims("| `hist-vol-rw` | 0.163 | 2.212 |\n") == [
        "line 1: benchmark row `hist-vol-rw` without a figures marker"
    ]
    assert unmarked_claims("With 100 paths it is 500x faster.\n") == ["line 1: 500x (not in speed.md)"]
    assert unmarked_claims("With 100 paths it is 373x faster.\n") == []
    # code blocks and inline code are not claims
    assert unmarked_claims("```text\n| `hist-vol-rw` | 0.1 | 0.2 |\n```\nSay `500x faster`.\n") == []
