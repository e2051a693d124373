"""Writes through cinch wait while a change is checked and applied on their branch, so a row
written between a change's data check and its apply cannot leave a tenant behind.

The writer and the change run as real processes at the same time; whatever the timing, the
change either reaches every tenant or none, and no tenant is left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cinch

TENANTS = 150
# The writer puts one 'dup' in the last tenant, waits for the change to be committed (its
# apply then runs over every tenant, the last one last) and writes the second 'dup' at once:
# without the lock it would land between the data check and the apply of that tenant.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import cinch
    from cinch.errors import CinchError
    project = cinch.open(sys.argv[1])
    tenant = project.tenant(sys.argv[2])
    tenant.query("INSERT INTO items(code) VALUES ('dup')")
    ref = Path(sys.argv[1], ".git", "refs", "heads", "main")
    before = ref.read_text()
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while ref.read_text() == before and time.monotonic() < deadline:
        time.sleep(0.0005)
    try:
        tenant.query("INSERT INTO items(code) VALUES ('dup')")
        print("written")
    except CinchError as exc:
        print("refused", exc.code)  # the index arrived first, as it should
    project.close()
""")


def test_a_write_racing_a_unique_index_never_leaves_a_tenant_behind(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    project = cinch.init(root)
    project.database().create_table("items", ["code:TEXT"])
    project.tenants.create_many("main", "main", [f"t{i:03d}" for i in range(TENANTS)])
    project.close()
    last = f"t{TENANTS - 1:03d}"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), last],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    change = subprocess.run(
        [sys.executable, "-m", "cinch.cli.app", "-C", str(root), "index", "create", "items",
         "code", "--unique"], capture_output=True, text=True, timeout=300)
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert change.returncode == 0, change.stderr  # one 'dup' at the check: the index is valid
    assert "refused" in out, out  # the second one waited for the apply, then met the index
    with cinch.open(root) as project:
        project.sync()  # nothing left to finish: every tenant is where the head is
        infos = project.tenants.infos("main", "main")
        assert {i.state for i in infos} == {"up to date"}, [i.to_dict() for i in infos]
        indexed = bool(project.database().schema().indexes)
        for info in infos:
            rows = project.tenant(info.name).rows(
                "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' "
                "AND tbl_name = 'items' AND sql IS NOT NULL")
            assert bool(rows[0]["n"]) == indexed, json.dumps(info.to_dict())
