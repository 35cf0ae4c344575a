"""The per-module table of tests/MUTATION.md from a mutmut 3 run (``make mutation``).

    python tests/mutation_table.py [--survivors]

Reads mutmut's verdicts (mutants/**/*.meta) and prints, per module, the mutants checked,
killed, survived, without a covering test, timed out, and the score: killed / (checked −
equivalent), with the equivalent mutants those listed in tests/MUTATION.md (a line starting
with ``- `name``` under "Equivalent"). ``--survivors`` lists each surviving mutant with its diff.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {1, 3, 37}
TIMEOUT = {24, -24, 36, 152, 255}


def verdicts() -> dict[str, dict[str, int | None]]:
    """{module: {mutant: exit code}} of every mutated file."""
    out = {}
    for meta in sorted((ROOT / "mutants" / "src").rglob("*.py.meta")):
        module = ".".join(meta.relative_to(ROOT / "mutants" / "src").with_suffix("").with_suffix("").parts)
        out[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return out


def equivalent() -> set[str]:
    """Mutants that tests/MUTATION.md explains as equivalent."""
    text = (ROOT / "tests" / "MUTATION.md").read_text(encoding="utf-8") if (ROOT / "tests" / "MUTATION.md").exists() else ""
    part = text.split("## Equivalent", 1)[1] if "## Equivalent" in text else ""
    part = part.split("\n## ", 1)[0]
    return set(re.findall(r"^- `([\w.]+__mutmut_\d+)`", part, flags=re.M))


def table() -> str:
    same = equivalent()
    rows = ["| module | mutants | checked | killed | survived | equivalent | no test | timeout | score |",
            "|---|---|---|---|---|---|---|---|---|"]
    for module, codes in verdicts().items():
        checked = {k: v for k, v in codes.items() if v is not None}
        if not checked:
            continue
        c = Counter("killed" if v in KILLED else "survived" if v == 0 else "no test" if v in (5, 33)
                    else "timeout" if v in TIMEOUT else "other" for v in checked.values())
        eq = sum(1 for k, v in checked.items() if v == 0 and k in same)
        meaningful = len(checked) - eq
        score = (c["killed"] + c["timeout"]) / meaningful if meaningful else float("nan")
        rows.append(f"| {module} | {len(codes)} | {len(checked)} | {c['killed']} | {c['survived'] - eq} | {eq} | "
                    f"{c['no test']} | {c['timeout']} | {score:.1%} |")
    return "\n".join(rows)


def survivors() -> str:
    same, lines = equivalent(), []
    for codes in verdicts().values():
        for name, code in codes.items():
            if code == 0 and name not in same:
                shown = subprocess.run([str(Path(sys.executable).parent / "mutmut"), "show", name], cwd=ROOT,
                                       capture_output=True, text=True).stdout
                diff = [ln for ln in shown.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
                lines += [f"{name}:", *("    " + d for d in diff)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
    if "--survivors" in sys.argv:
        print()
        print(survivors())
