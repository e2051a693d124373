"""`cinch codegen python`: golden files, mypy --strict, and the builder against a real tenant."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cinch
from cinch.errors import ConfigError, StaleCode, UsageError
from cinch.planner.columns import parse_column_spec
from tests.codegen.conftest import import_generated, run_mypy, stable

GOLDEN = Path(__file__).parent / "golden" / "python"
UPDATE = os.environ.get("CINCH_UPDATE_GOLDEN") == "1"


@pytest.fixture
def generated(shop: cinch.Project, tmp_path: Path) -> Any:
    """The fixture's Python package, written to tmp_path/shopdb and imported."""
    shop.database().codegen("python").write(tmp_path / "shopdb")
    return import_generated(tmp_path, "shopdb")


def test_output_matches_the_golden_files(shop: cinch.Project) -> None:
    files = shop.database().codegen("python").files
    assert sorted(files) == ["__init__.py", "_runtime.py", "py.typed"]
    for name, text in files.items():
        golden = GOLDEN / name
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(stable(text))
        assert stable(text) == golden.read_text(), f"{name} differs from {golden}"


def test_output_is_deterministic_and_names_the_schema_commit(shop: cinch.Project) -> None:
    db = shop.database()
    first = db.codegen("python")
    log = shop.history.log(first.commit, "main")
    assert first.change == log[-1].id
    # The last commit changed cinch.toml only: the header names the one before, which added
    # the last change set.
    assert first.schema_commit == shop.git.parents(first.commit)[0]
    assert f"at commit {first.schema_commit}," in first.files["__init__.py"].splitlines()[0]
    again = db.codegen("python", rev=first.schema_commit)
    assert again.files["_runtime.py"] == first.files["_runtime.py"]
    # At the schema commit the override was not committed yet: only that annotation differs.
    assert again.files["__init__.py"] != first.files["__init__.py"]
    assert db.codegen("python").files == first.files


def test_mypy_strict_accepts_the_package_and_typed_use(shop: cinch.Project, tmp_path: Path,
                                                       mypy_cache: Path) -> None:
    shop.database().codegen("python").write(tmp_path / "shopdb")
    (tmp_path / "use.py").write_text(textwrap.dedent(f"""
        import datetime
        import cinch
        from shopdb import UsersInsert, UsersRow, UsersUpdate, adults, users

        tenant: cinch.Tenant = cinch.open({str(shop.root)!r}).tenant("acme")
        row: UsersRow = users.insert(UsersInsert(email="a@x", prefs={{"a": 1}})).run(tenant)
        rows: list[UsersRow] = (users.select().where(users.c.email == "a@x", users.c.age >= 3)
                                .order_by(users.c.seen_at.desc(), users.c.name).limit(10)
                                .all(tenant))
        seen: datetime.datetime | None = rows[0].seen_at
        changed: int = users.update(UsersUpdate(name=None, active=False)).where(
            users.c.id == row.id).run(tenant)
        grown = [a.email for a in adults.select().where(adults.c.active == True).all(tenant)]
        gone: int = users.delete().where(users.c.email.is_null() | users.c.class_.like("x%"))\\
            .run(tenant)
    """))
    result = run_mypy(tmp_path, "shopdb", "use.py", cache=mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_refuses_values_of_the_wrong_type(shop: cinch.Project, tmp_path: Path,
                                                      mypy_cache: Path) -> None:
    shop.database().codegen("python").write(tmp_path / "shopdb")
    wrong = {
        "users.c.age > 'x'": "Unsupported operand types",
        "users.c.email.eq(5)": "incompatible type",
        "UsersInsert(email=None)": "incompatible type",
        "UsersInsert(name='no email')": 'Missing named argument "email"',
        "UsersInsert(email='a', created_at=None)": 'Unexpected keyword argument "created_at"',
        "UsersUpdate(age=None)": "incompatible type",
        "adults.insert": 'has no attribute "insert"',
        "UsersInsert(email='a', prefs={'a': 'text'})": "incompatible type",
    }
    lines = ["from shopdb import UsersInsert, UsersUpdate, adults, users", ""]
    lines += [f"x{i} = {expr}" for i, expr in enumerate(wrong)]
    (tmp_path / "wrong.py").write_text("\n".join(lines) + "\n")
    result = run_mypy(tmp_path, "wrong.py", cache=mypy_cache)
    assert result.returncode == 1
    for i, (expr, message) in enumerate(wrong.items()):
        line = [row for row in result.stdout.splitlines() if row.startswith(f"wrong.py:{i + 3}:")]
        assert line and message in line[0], f"{expr}: {line or result.stdout}"


def raw(shop: cinch.Project, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    return shop.tenant("acme").query(sql, params, read_only=True).rows


def test_the_builder_runs_against_a_real_tenant(shop: cinch.Project, generated: Any) -> None:
    tenant = shop.tenant("acme")
    users, things, adults = generated.users, generated.things, generated.adults
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    ann = users.insert(generated.UsersInsert(
        email="ann@x", age=40, active=False, prefs={"a": 1}, meta=[1, "two", None],
        seen_at=when, big=2**62 + 1, avatar=b"\x00\xff", class_="first", secret="s",
        from_=7)).run(tenant)
    bob = users.insert(generated.UsersInsert(email="bob@x", age=12)).run(tenant)
    assert (ann.active, bob.active) == (False, True)  # a default of true, read back as bool
    assert ann.big == 2**62 + 1 and ann.prefs == {"a": 1} and ann.meta == [1, "two", None]
    assert ann.seen_at == when and ann.avatar == b"\x00\xff" and ann.from_ == 7
    assert len(bob.token or "") == 36 and bob.code == "x" and bob.created_at.tzinfo is not None
    # Stored the way SQLite and other tools expect: 0/1, ISO text in UTC, JSON text.
    stored = raw(shop, 'SELECT active, seen_at, prefs, "class", "_secret" FROM users '
                       "WHERE email = ?", ["ann@x"])
    assert stored == [(0, "2024-05-06T05:08:09.123Z", '{"a":1}', "first", "s")]

    query = users.select().where(users.c.age >= 18, users.c.email != "x").order_by(
        users.c.email.desc()).limit(5)
    sql, params = query.to_sql()
    assert "ann@x" not in sql and params == [18, "x", 5]
    assert [r.email for r in query.all(tenant)] == ["ann@x"]
    assert users.select().where(users.c.name == None).first(tenant) is not None  # noqa: E711
    assert [r.email for r in users.select().where(users.c.email.in_(["bob@x", "zed"]))
            .all(tenant)] == ["bob@x"]
    assert users.select().where(users.c.email.in_([])).all(tenant) == []

    assert users.update(generated.UsersUpdate(name="Bob", active=False)).where(
        users.c.id == bob.id).run(tenant) == 1
    bob2 = users.select().where(users.c.id == bob.id).first(tenant)
    assert (bob2.name, bob2.active, bob2.age) == ("Bob", False, 12)  # unset fields untouched
    assert [a.email for a in adults.select().all(tenant)] == ["ann@x"]
    assert adults.select().all(tenant)[0].grown == 1

    thing = things.insert(generated.ThingsInsert(n=1, anything=b"\x01", owner=ann.id)).run(tenant)
    assert (thing.label, thing.anything, thing.amount) == ("x", b"\x01", None)
    assert users.delete().where(users.c.id == ann.id).run(tenant) == 1
    assert things.select().all(tenant) == []  # ON DELETE CASCADE


def test_bad_values_are_refused_before_sqlite(generated: Any) -> None:
    with pytest.raises(ValueError, match="less than or equal"):
        generated.UsersInsert(email="a", big=2**63)
    with pytest.raises(ValueError, match="created_at"):
        generated.UsersInsert(email="a", created_at="2024-01-01")
    with pytest.raises(ValueError, match="nothing to update"):
        generated.users.update(generated.UsersUpdate()).to_sql()


def test_type_overrides_must_be_python(shop: cinch.Project) -> None:
    config = shop.config()
    config.codegen.python = {"users.prefs": "dict[str,"}
    from cinch.engine.branches import commit_config

    commit_config(shop, "main", config, "A broken override")
    with pytest.raises(ConfigError, match=r"users\.prefs: 'dict\[str,' is not a Python type"):
        shop.database().codegen("python")


def test_write_never_overwrites_a_file_it_did_not_generate(shop: cinch.Project,
                                                          tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("important = True\n")
    with pytest.raises(UsageError, match="was not generated by cinch"):
        shop.database().codegen("python").write(tmp_path)
    assert (tmp_path / "__init__.py").read_text() == "important = True\n"
    assert not (tmp_path / "_runtime.py").exists()


def test_check_fails_after_a_schema_change_on_a_branch_until_regenerated(
        shop: cinch.Project, tmp_path: Path, cli: Any, cli_in_process: Any) -> None:
    """The steps call the CLI's entry point in this process; the failing check (its exit code
    is what CI sees) runs the real `cinch` command."""
    real, cli = cli, cli_in_process
    out = tmp_path / "db"
    root = str(shop.root)
    assert cli("-C", root, "switch", "-c", "feature").rc == 0
    assert cli("-C", root, "codegen", "python", "--out", str(out)).rc == 0
    assert cli("-C", root, "codegen", "python", "--out", str(out), "--check").rc == 0
    assert cli("-C", root, "column", "add", "users", "nickname:TEXT").rc == 0
    stale = real("-C", root, "codegen", "python", "--out", str(out), "--check")
    assert stale.rc == 1 and stale.stdout == ""
    assert "error: " in stale.stderr and "__init__.py" in stale.stderr
    assert "cinch codegen python --db main --out" in stale.stderr
    # main's schema did not change: its code is what was generated before the change
    assert cli("-C", root, "codegen", "python", "--out", str(out), "--check",
               "--rev", "main").rc == 0
    assert cli("-C", root, "codegen", "python", "--out", str(out)).rc == 0
    assert cli("-C", root, "codegen", "python", "--out", str(out), "--check").rc == 0
    assert "nickname" in (out / "__init__.py").read_text()
    with pytest.raises(StaleCode):
        shop.database(branch="main").codegen("python").check(out)


def test_unknown_language_database_and_revision_are_refused(shop: cinch.Project,
                                                            tmp_path: Path, cli: Any) -> None:
    root, out = str(shop.root), str(tmp_path / "out")
    bad = cli("-C", root, "codegen", "cobol", "--out", out)
    assert bad.rc == 2 and "cobol" in bad.stderr
    nodb = cli("-C", root, "codegen", "python", "--db", "nope", "--out", out)
    assert nodb.rc != 0 and "no database named 'nope'" in nodb.stderr
    norev = cli("-C", root, "codegen", "python", "--rev", "nosuch", "--out", out)
    assert norev.rc != 0 and "nosuch" in norev.stderr
    assert not (tmp_path / "out").exists()


# --- random values of every kind round-trip through insert and select ----------------------

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
_TIMES = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                      timezones=st.none() | st.just(dt.UTC)
                      | st.builds(dt.timezone, st.integers(-14 * 60, 14 * 60).map(
                          lambda m: dt.timedelta(minutes=m))))
COLUMNS = {
    "i": ("INTEGER", _INT64), "r": ("REAL", st.floats(allow_nan=False)),
    "n": ("NUMERIC", st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
                                                               allow_infinity=False)),
    "t": ("TEXT", st.text()), "b": ("BOOLEAN", st.booleans()), "d": ("DATE", st.dates()),
    "ts": ("DATETIME", _TIMES), "j": ("JSON", _JSON), "bl": ("BLOB", st.binary()),
    "v": ("VARCHAR(20)", st.text(max_size=20)),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("roundtrip")
    project = cinch.init(root / "p")
    specs = [parse_column_spec(f"{name}:{type_}") for name, (type_, _) in COLUMNS.items()]
    project.database().create_table("samples", specs)
    project.database().create_table("strict_samples", [
        parse_column_spec(f"{name}:{type_}") for name, type_ in
        (("i", "INTEGER"), ("r", "REAL"), ("t", "TEXT"), ("bl", "BLOB"), ("a", "ANY"))],
        strict=True)
    project.tenants.create("main", "main", "t1")
    project.database().codegen("python").write(root / "gen" / "rtdb")
    yield project, import_generated(root / "gen", "rtdb")
    project.close()


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({}, optional={k: s | st.none() for k, (_, s) in
                                                  COLUMNS.items()}),
       strict=st.fixed_dictionaries({}, optional={
           "i": _INT64, "r": st.floats(allow_nan=False), "t": st.text(), "bl": st.binary(),
           "a": _INT64 | st.floats(allow_nan=False) | st.text() | st.binary()}))
def test_random_values_round_trip_through_insert_and_select(
        samples: Any, values: dict[str, Any], strict: dict[str, Any]) -> None:
    project, gen = samples
    tenant = project.tenant("t1")
    for table, model, data in ((gen.samples, gen.SamplesInsert, values),
                               (gen.strict_samples, gen.StrictSamplesInsert, strict)):
        inserted = table.insert(model(**data)).run(tenant)
        read = table.select().where(table.c.id == inserted.id).first(tenant)
        assert read == inserted
        for name, value in data.items():
            assert getattr(read, name) == value, name
            # NUMERIC is the exception: SQLite stores a whole float there as an integer.
            if isinstance(value, float | bool | dt.datetime) and name != "n":
                assert type(getattr(read, name)) is type(value), name
