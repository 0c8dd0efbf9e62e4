"""Every ```python block of the documentation runs.

Each page under ``docs/`` (except those in `TESTED_ELSEWHERE`, which have their own tests), and the README, is
executed block by block, in page order, in one namespace, from an empty temporary working directory. Shell commands (```bash) and
illustrative output (```text) are not executed; a block with any other language, or none, fails the test, so no
code can slip through untested.

Checkpoints:

- ``huggingface_hub.hf_hub_download`` is replaced by a fake that serves the tiny reference checkpoint
  (``tests/fixtures/kronos-reference/tiny-learnte``) for every ``NeoQuasar/*`` id, so pages can show the
  published ids; the model for ``NeoQuasar/Kronos-*`` and the tokenizer for ``NeoQuasar/Kronos-Tokenizer-*``.
  It honours ``local_dir`` (copies the file there) and fails for any other repository, as an offline hub would.
- The bundled checkpoint is used when it is installed; otherwise `kronos_plugins.checkpoints.bundled_checkpoint`
  returns the tiny checkpoint with ``max_context=128`` (the bundle's window), so the pages run either way.
- `kronos_plugins.pipeline._LOADED` (the shared-weights cache) starts empty for each page and is restored after
  it, so the fake hub's weights never leak into other tests.

Shrinking work: a page sets its sizes in top-level assignments such as ``NUM_SAMPLES = 200``. `SHRINK` lists,
per page, names whose assignment is rewritten before the block runs (the line ``NUM_SAMPLES = 200`` becomes
``NUM_SAMPLES = 8``). Only unindented ``NAME = ...`` lines are rewritten, and every listed name must occur on its
page, so the table cannot go stale.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"

#: Pages whose code blocks are executed by their own tests (``page -> test file``). The check below also
#: accepts any test that names the page, for pages whose owners have not settled on a file yet.
TESTED_ELSEWHERE = {
    "ecosystems/darts.md": "tests/ecosystem/test_darts_adapter.py",
    "ecosystems/sktime.md": "tests/ecosystem/test_sktime_adapter.py",
    "ecosystems/gluonts.md": "tests/ecosystem/test_gluonts_adapter.py",
    "transformers-workflow.md": "tests/unit/test_facade.py",
    "calibration.md": "tests/unit/test_calibration.py",
}

#: Per page: names whose top-level assignment is replaced by a smaller value in the test.
SHRINK = {
    "getting-started.md": {"NUM_SAMPLES": 16},
    "pipeline.md": {"NUM_SAMPLES": 8},
    "published-checkpoints.md": {"NUM_SAMPLES": 4},
    "synthetic.md": {"N_PATHS": 16, "LENGTH": 24, "SWEEP_PATHS": 4},
    "training.md": {"STEPS": 2, "VAL_WINDOWS": 8},
}

EXECUTED = {"python"}
NOT_EXECUTED = {"bash", "text", "yaml", "json", "toml"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


def code_blocks(text: str) -> list[tuple[str, str, int]]:
    """Fenced code blocks of a Markdown page: (language, code, line number of the opening fence).

    Blocks indented inside admonitions or lists are dedented.
    """
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split(" ")[0].lstrip(".").lower()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append((lang, textwrap.dedent("\n".join(body)) + "\n", start))
        i += 1
    return blocks


def _blocks_of(page: str) -> list[tuple[str, str, int]]:
    return code_blocks((DOCS / page).read_text(encoding="utf-8"))


def _pages() -> list[str]:
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def _shrink(code: str, names: dict[str, object]) -> str:
    for name, value in names.items():
        code = re.sub(rf"^{name} = .*$", f"{name} = {value!r}", code, flags=re.M)
    return code


def _fake_hf_hub_download(repo_id, filename, *, revision=None, cache_dir=None, local_dir=None, **kwargs):
    if not str(repo_id).startswith("NeoQuasar/"):
        raise OSError(f"the docs test serves only NeoQuasar/* ids from the tiny checkpoint, not {repo_id!r}")
    part = "tokenizer" if "Tokenizer" in repo_id else "model"
    src = TINY / part / filename
    if not src.is_file():
        raise OSError(f"{repo_id} has no file {filename!r}")
    if local_dir is not None:
        dest = Path(local_dir) / filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return str(dest)
    return str(src)


@pytest.fixture
def docs_env(tmp_path, monkeypatch):
    """Temp working directory, fake hub, bundled checkpoint (or the tiny stand-in), fresh weights cache."""
    import huggingface_hub

    import kronos_plugins.checkpoints as checkpoints
    import kronos_plugins.pipeline as pipeline
    from kronos_plugins.checkpoints import BUNDLED_DIR

    threads = torch.get_num_threads()  # a training config may change it
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", _fake_hf_hub_download)
    monkeypatch.setattr(pipeline, "_LOADED", {})
    if not (BUNDLED_DIR / "bundle.json").is_file():
        monkeypatch.setattr(
            checkpoints, "bundled_checkpoint", lambda *a, **k: (TINY / "model", TINY / "tokenizer", 128)
        )
    yield tmp_path
    torch.set_num_threads(threads)
    import matplotlib.pyplot as plt

    plt.close("all")


def _executed_pages() -> list[str]:
    return [p for p in _pages() if p not in TESTED_ELSEWHERE]


def _run(path: Path, shrink: dict[str, object]) -> None:
    text = path.read_text(encoding="utf-8")
    blocks = code_blocks(text)
    unknown = [(lang or "<none>", line) for lang, _, line in blocks if lang not in EXECUTED | NOT_EXECUTED]
    assert not unknown, (
        f"{path.name}: code blocks need a language among {sorted(EXECUTED | NOT_EXECUTED)}: {unknown}"
    )
    for name in shrink:
        assert re.search(rf"^{name} = ", text, flags=re.M), (
            f"SHRINK names {name} but {path.name} never assigns it"
        )
    namespace: dict = {"__name__": "__docs__"}
    for lang, code, line in blocks:
        if lang in EXECUTED:
            exec(compile(_shrink(code, shrink), f"{path.relative_to(ROOT)}:{line}", "exec"), namespace)


@pytest.mark.parametrize("page", _executed_pages())
def test_page_code_blocks_run(page, docs_env):
    _run(DOCS / page, SHRINK.get(page, {}))


def test_readme_quickstart_runs(docs_env):
    _run(ROOT / "README.md", {})


def test_pages_with_their_own_tests_are_tested():
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.resolve() != Path(__file__).resolve()]
    for page, test_file in TESTED_ELSEWHERE.items():
        if not (DOCS / page).is_file() or not any(lang in EXECUTED for lang, _, _ in _blocks_of(page)):
            continue  # not written yet, or nothing to execute
        name = Path(page).name
        if test_file is not None:
            assert name in (ROOT / test_file).read_text(encoding="utf-8"), f"{test_file} does not run {page}"
        else:
            assert any(name in p.read_text(encoding="utf-8") for p in tests), f"no test runs docs/{page}"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w./-]+\.md)\s*$", nav, flags=re.M))
    assert set(_pages()) <= listed, f"pages missing from the mkdocs.yml nav: {sorted(set(_pages()) - listed)}"
