"""Print-ready pages of the lesson: the worksheets and the teacher notes as HTML for A4.

    python docs/lesson/print_sheets.py --out lesson-print      (make lesson does this)

Open a page in a browser and print it (Ctrl+P). The worksheet's answer cells are tall enough
to write in. Everything is written into the folder named by --out (created if missing) and
nothing else; each page is written to a temporary file first and renamed into place, so an
interrupted run never leaves half a page.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = {  # source in docs/lesson -> (page, language)
    "worksheet_en.md": ("worksheet_en.html", "en"),
    "arbeitsblatt_de.md": ("arbeitsblatt_de.html", "de"),
    "teacher_notes_en.md": ("teacher_notes_en.html", "en"),
    "lehrerhinweise_de.md": ("lehrerhinweise_de.html", "de"),
}
CSS = """
@page { size: A4; margin: 14mm 14mm 14mm 14mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; line-height: 1.45; max-width: 182mm; margin: auto; }
h1 { font-size: 15pt; margin: 0 0 4mm 0; } h2 { font-size: 12pt; margin: 5mm 0 2mm 0; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; break-inside: avoid; }
th, td { border: 1px solid #444; padding: 1.5mm 2mm; vertical-align: top; text-align: left; }
.sheet td { height: 9mm; } .sheet td:first-child { height: auto; }
td:not(:first-child) { color: #888; font-size: 7pt; } .notes td { color: inherit; font-size: 9pt; }
p { margin: 1.5mm 0; } code { font-size: 9pt; } .sheet hr { margin: 7mm 0; border: 0; border-top: 1px solid #444; }
"""


def render(source: Path, lang: str) -> str:
    """One Markdown page as a standalone HTML page (tables enabled)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(source.read_text(encoding="utf-8"))
    kind = "notes" if source.stem.startswith(("teacher", "lehrer")) else "sheet"
    title = html.escape(source.read_text(encoding="utf-8").splitlines()[0].lstrip("# "))
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head>\n<body class=\"{kind}\">\n{body}</body></html>\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the lesson's printable pages (HTML for A4).")
    parser.add_argument("--out", required=True, help="folder to write into (created if missing)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"print_sheets: --out {out}: is a file; allowed: a folder", file=sys.stderr)
        return 2
    try:
        from markdown_it import MarkdownIt  # noqa: F401

        from marktsim.experiments.store import write_text  # whole or not at all: a temporary sibling, renamed
    except ImportError:
        print("print_sheets: needs markdown-it-py: pip install 'marktsim[lesson]' (or make lesson)", file=sys.stderr)
        return 2
    pages = {name: render(HERE / name, lang) for name, (_, lang) in PAGES.items()}  # every page before writing any
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, (page, _) in PAGES.items():
            write_text(out / page, pages[name])
    except OSError as error:
        print(f"print_sheets: --out {out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"print_sheets: {len(PAGES)} pages in {out}/ (open one in a browser and print it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
