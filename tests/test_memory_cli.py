"""`samantha memory list | forget | export | import` as a person would run them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

CONVERSATION = Path(__file__).parent / "conversations" / "fact_changes.yaml"


def samantha(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_list_forget_export_import(tmp_path: Path) -> None:
    data = tmp_path / "data"
    told = samantha("script", str(CONVERSATION), "--seeds-dir", "", "--data-dir", str(data))
    assert told.returncode == 0, told.stdout + told.stderr

    listed = samantha("memory", "--data-dir", str(data), "list", "--kind", "fact")
    assert listed.returncode == 0
    assert "The user's dog is called Rex." in listed.stdout
    assert "The user's dog is called Biscuit. (superseded)" in listed.stdout

    rex = next(line for line in listed.stdout.splitlines() if "called Rex" in line)
    forgotten = samantha("memory", "--data-dir", str(data), "forget", rex.split()[0])
    # The fact, the message that told it (issue 12: forgetting a fact leaves no turn that says it) and
    # her remembered replies that answered or quoted it.
    gone = re.search(r"forgot (\d+) memories", forgotten.stdout)
    assert forgotten.returncode == 0 and gone and int(gone[1]) >= 2, forgotten.stdout
    assert "Rex" not in samantha("memory", "--data-dir", str(data), "list").stdout
    assert "Rex" not in samantha("memory", "--data-dir", str(data), "list", "--kind", "fact").stdout

    missing = samantha("memory", "--data-dir", str(data), "forget", "99999")
    assert missing.returncode == 1 and "no memory 99999" in missing.stderr

    export = tmp_path / "me.json"
    assert samantha("memory", "--data-dir", str(data), "export", str(export)).returncode == 0
    exported = json.loads(export.read_text())
    assert exported["user"] == "me" and exported["turns"] and exported["memories"]
    assert all("embedding" not in m for m in exported["memories"])

    other = tmp_path / "elsewhere"
    imported = samantha("memory", "--data-dir", str(other), "import", str(export))
    assert imported.returncode == 0, imported.stderr
    again = samantha("memory", "--data-dir", str(other), "list", "--json")
    texts = [m["text"] for m in json.loads(again.stdout)]
    assert any("The user lives in Lisbon." in t for t in texts)
    assert not any("superseded" in t or "Porto." in t for t in texts if "fact" in t)

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = samantha("memory", "--data-dir", str(other), "import", str(broken))
    assert refused.returncode == 2 and "cannot use" in refused.stderr and "Traceback" not in refused.stderr
