"""docs/content/guides/ci.md run as written: a hub, the server's project cloned from it and a
real `cinch serve` on a free port; a developer's branch becomes a merge request opened with
the CI key, approved, merged by the merge job, pushed back to the hub and pulled by the
developer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.docs.examples import run_shell_page
from tests.warm import WarmServer


def test_the_ci_guide_runs_as_written(tmp_path: Path, warm: WarmServer) -> None:
    out = run_shell_page("guides/ci.md", tmp_path, ("curl", "jq"), warm=warm)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    opened, approved, merged = lines
    assert opened == {"number": 1, "can_merge_now": False, "conflicts": [],
                      "blockers": ["needs 1 approval(s) of the current head, has 0"]}
    assert approved == {"approvals_current": 1, "can_merge_now": True}
    assert merged["state"] == "merged"
    assert merged["tenants"]["main"] == {"tenants": 3, "updated": 3, "failed": [],
                                         "drifted": []}
    assert out.splitlines()[-2:] == ["name", "plan"]  # the developer's pulled tenant
    hub_log = subprocess.run(["git", "-C", str(tmp_path / "hub.git"), "log", "--format=%s",
                              "-1", "main"], capture_output=True, text=True, check=True).stdout
    assert hub_log.strip() == "Merge request #1: Add accounts.plan"
