"""The 90-minute lesson (docs/lesson): both notebooks run at class size from start to end, every
number the teacher notes promise is the number the notebook prints, the worksheet asks for
every item, part A's markets are the dashboard's scenarios (so the dashboard shows the history
the notebook computes), and the printable pages are written whole into the folder named."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LESSON = Path(__file__).resolve().parents[1] / "docs" / "lesson"
NOTES = {"en": LESSON / "teacher_notes_en.md", "de": LESSON / "lehrerhinweise_de.md"}
SHEETS = {"en": LESSON / "worksheet_en.md", "de": LESSON / "arbeitsblatt_de.md"}
ITEM = re.compile(r"^\| ([SABCD]-\d+) \| (.+?) \| (.+?) \|$", re.MULTILINE)
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def run_notebook(lang: str, workdir: Path) -> dict:
    """Execute lesson_<lang>.ipynb in `workdir` (every cell; an error in any fails the test) and
    return what it computed: the worksheet's numbers and part A's markets."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(LESSON / f"lesson_{lang}.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json; print(json.dumps({'numbers': numbers, 'markets': markets}, ensure_ascii=False))"))
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}}).execute()
    return json.loads(notebook.cells[-1].outputs[0]["text"])


@pytest.fixture(scope="module", params=["en", "de"])
def executed(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"lesson-{request.param}")
    result = run_notebook(request.param, workdir)
    return request.param, result, workdir


def test_the_notebook_writes_nothing(executed):
    _, _, workdir = executed
    assert list(workdir.iterdir()) == []


def test_teacher_notes_quote_the_numbers_the_notebook_prints(executed):
    lang, result, _ = executed
    printed = {item: value for item, (_, value) in result["numbers"].items()}
    promised = {item: value for item, _, value in ITEM.findall(NOTES[lang].read_text(encoding="utf-8"))}
    assert len(printed) >= 50, "the notebook computes the worksheet's numbers"
    assert promised == printed


def test_the_worksheet_asks_for_every_item(executed):
    lang, result, _ = executed
    sheet = SHEETS[lang].read_text(encoding="utf-8")
    asked = set(re.findall(r"\b([ABCD]-\d+)\b", sheet))
    assert asked == set(result["numbers"])


def test_part_a_runs_the_dashboards_scenarios(executed):
    """A1 and A2 are done in the dashboard, A3 in the notebook: the same market (config and seed)."""
    from omegaconf import OmegaConf

    from marktsim.config import load_config
    from marktsim.dashboard.model import overrides_for, scenario_controls

    _, result, _ = executed
    for market, scenario in [("campaign", "campaign_overload"), ("regulars_first", "regulars_first")]:
        dashboard = [o for o in overrides_for(scenario, scenario_controls(scenario)) if not o.startswith("horizon=")]
        months = [o for o in result["markets"][market] if o.startswith("horizon=")]
        assert months == ["horizon=36"]
        assert OmegaConf.to_container(load_config(dashboard + months)) == \
            OmegaConf.to_container(load_config(result["markets"][market]))


def test_both_languages_are_the_same_lesson():
    nbformat = pytest.importorskip("nbformat")
    en, de = (nbformat.read(LESSON / f"lesson_{lang}.ipynb", as_version=4) for lang in ("en", "de"))
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in de.cells]
    headings = [[line for line in c.source.splitlines() if line.startswith("#")] for c in (en.cells + de.cells)
                if c.cell_type == "markdown"]
    assert len([h for h in headings if h]) >= 12
    for lang in ("en", "de"):
        items = [i for i, _, _ in ITEM.findall(NOTES[lang].read_text(encoding="utf-8"))]
        assert items == sorted(items, key=lambda i: (i[0], int(i[2:]))), "the notes list the items in order"


def print_sheets(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LESSON / "print_sheets.py"), *args], capture_output=True, text=True)


def test_printable_pages_are_written_into_the_folder_named(tmp_path):
    out = tmp_path / "print"
    proc = print_sheets("--out", str(out))
    assert proc.returncode == 0, proc.stderr
    pages = sorted(p.name for p in out.iterdir())
    assert pages == ["arbeitsblatt_de.html", "lehrerhinweise_de.html", "teacher_notes_en.html", "worksheet_en.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["print"]
    for lang, sheet in (("en", "worksheet_en.html"), ("de", "arbeitsblatt_de.html")):
        text = (out / sheet).read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in text and "<table>" in text
        for item in re.findall(r"\b([ABCD]-\d+)\b", SHEETS[lang].read_text(encoding="utf-8")):
            assert item in text


def test_printable_pages_refuse_a_file_as_folder(tmp_path):
    target = tmp_path / "taken"
    target.write_text("mine")
    proc = print_sheets("--out", str(target))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and str(target) in proc.stderr and "folder" in proc.stderr
    assert target.read_text() == "mine"


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian package chromium)")
def test_a_worksheet_prints_on_three_a4_pages_at_most(tmp_path):
    assert print_sheets("--out", str(tmp_path)).returncode == 0
    for sheet in ("worksheet_en", "arbeitsblatt_de"):
        pdf = tmp_path / f"{sheet}.pdf"
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                        (tmp_path / f"{sheet}.html").as_uri()], capture_output=True, timeout=120)
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
        assert 1 <= pages <= 3, (sheet, pages)
