"""Real applications' databases, made by their own tools in the test, adopted and managed.

Django's `migrate` (auth, admin, contenttypes, sessions: INTEGER and composite keys, deferrable
foreign keys, CHECK constraints) and a SQLAlchemy metadata write the files; copies with other
rows are adopted, changed with cinch (a column, a merge, a revert), and the application's own
ORM then reads and writes every tenant; foreign_key_check and integrity_check stay clean.

The applications' tools run as their own processes; cinch's CLI runs its entry point in this
process (tests/cli covers the real command).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Cli

SETTINGS = """
SECRET_KEY = "adoption-test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
import os
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ["APP_DB"]}}
"""

# Django's ORM on every tenant: create a user, find it, count the others, write a session.
ORM_SCRIPT = """
import json, sys
import django
django.setup()
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
out = {}
for path in json.loads(sys.argv[1]):
    connection.close()
    connection.settings_dict["NAME"] = path
    before = User.objects.count()
    user = User.objects.create(username="adopted", email="a@example.com")
    group = Group.objects.create(name="staff")
    user.groups.add(group)
    group.permissions.add(Permission.objects.first())
    Session.objects.create(session_key="k" * 32, session_data="{}",
                           expire_date=timezone.now())
    assert User.objects.filter(username="adopted", groups__name="staff").get() == user
    out[path] = [before, User.objects.count()]
    connection.close()
print(json.dumps(out))
"""


@pytest.fixture
def cli(cli_in_process: Cli) -> Cli:
    return cli_in_process


def _django(tmp: Path, args: list[str], db: Path, script: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    (tmp / "adopt_settings.py").write_text(SETTINGS)
    env = {**os.environ, "APP_DB": str(db), "DJANGO_SETTINGS_MODULE": "adopt_settings",
           "PYTHONPATH": str(tmp)}
    command = [sys.executable, "-c", script, *args] if script else \
        [sys.executable, "-m", "django", *args]
    return subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True,
                          timeout=120, check=False)


def _copies(base: Path, folder: Path, count: int, insert: str, rows: object) -> None:
    folder.mkdir()
    for i in range(count):
        path = folder / f"customer{i:03d}.db"
        path.write_bytes(base.read_bytes())
        with sqlite3.connect(path) as conn:
            conn.executemany(insert, rows(i))  # type: ignore[operator]
        conn.close()


def _tenant_files(project: Path, cli: Cli) -> list[Path]:
    listed = json.loads(cli("-C", str(project), "tenant", "list", "-f", "json",
                            check=True).stdout)
    folder = next(p.parent for p in (project / ".cinch").rglob("customer000.db"))
    return [folder / f"{row['name']}.db" for row in listed if row["name"] != "main"]


def _clean(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == [], path
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], path
    conn.close()


def _change_id(result: object) -> str:
    return json.loads(result.stdout)["id"]  # type: ignore[attr-defined]


def test_django_databases_adopted_and_managed(tmp_path: Path, cli: Cli) -> None:
    count = 60  # copies, each with its own rows
    base = tmp_path / "base.sqlite3"
    migrated = _django(tmp_path, ["migrate", "--noinput"], base)
    assert migrated.returncode == 0, migrated.stderr
    users = ("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
             "email, is_staff, is_active, date_joined) VALUES ('!', 0, ?, '', '', ?, 0, 1, "
             "'2026-01-01 00:00:00')")
    _copies(base, tmp_path / "files", count, users,
            lambda i: [(f"user{i}_{n}", f"u{n}@c{i}.example") for n in range(i % 5 + 1)])

    project = tmp_path / "app"
    adopted = cli("init", str(project), "--from", str(tmp_path / "files"), "-f", "json")
    assert adopted.rc == 0, adopted
    assert json.loads(adopted.stdout)["adopted"] == count
    sql = (project / "schema/main/schema.sql").read_text()
    assert "DEFERRABLE INITIALLY DEFERRED" in sql and "CHECK" in sql

    run = lambda *args: cli("-C", str(project), *args, check=True)  # noqa: E731
    run("switch", "-c", "profiles")
    run("column", "add", "auth_user", "nickname:TEXT")
    run("index", "create", "auth_user", "nickname")
    run("switch", "main")
    run("merge", "profiles")
    note = _change_id(run("-f", "json", "column", "add", "django_session", "note:TEXT"))
    run("revert", note, "--yes")

    files = _tenant_files(project, cli)
    assert len(files) == count
    for path in files:
        with sqlite3.connect(path) as conn:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(auth_user)")}
            assert "nickname" in columns
            assert "note" not in {r[1] for r in conn.execute("PRAGMA table_info(django_session)")}
            n = int(path.stem[-3:])
            assert conn.execute("SELECT count(*) FROM auth_user").fetchone() == (n % 5 + 1,)
        conn.close()

    orm = _django(tmp_path, [json.dumps([str(p) for p in files])], files[0], ORM_SCRIPT)
    assert orm.returncode == 0, orm.stderr
    counts = json.loads(orm.stdout)
    assert all(after == before + 1 for before, after in counts.values()) and len(counts) == count
    check = _django(tmp_path, ["check", "--database", "default"], files[-1])
    assert check.returncode == 0, check.stderr
    for path in files:
        _clean(path)
    status = json.loads(run("tenant", "list", "-f", "json").stdout)
    assert {row["state"] for row in status} == {"up to date"}


SQLALCHEMY_MODELS = """
from sqlalchemy import (CheckConstraint, Column, DateTime, ForeignKey, ForeignKeyConstraint,
                        Index, Integer, Numeric, String, Text, func)
from sqlalchemy.orm import DeclarativeBase, relationship


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "account"
    id = Column(Integer, primary_key=True)
    email = Column(String(120), nullable=False, unique=True)
    created = Column(DateTime, server_default=func.current_timestamp())
    __table_args__ = (CheckConstraint("length(email) > 3", name="email_long_enough"),)


class Order(Base):
    __tablename__ = "orders"
    account_id = Column(Integer, ForeignKey("account.id", ondelete="CASCADE"),
                        primary_key=True)
    number = Column(Integer, primary_key=True)
    total = Column(Numeric(10, 2), nullable=False, default=0)
    account = relationship(Account)
    __table_args__ = (Index("orders_big", "total", sqlite_where=total > 100),)


class Line(Base):
    __tablename__ = "line"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, nullable=False)
    number = Column(Integer, nullable=False)
    note = Column(Text)
    __table_args__ = (ForeignKeyConstraint(["account_id", "number"],
                                           ["orders.account_id", "orders.number"],
                                           ondelete="CASCADE", deferrable=True,
                                           initially="DEFERRED"),
                      Index("line_note", func.lower(note)))
"""

SQLALCHEMY_SCRIPT = """
import json, sys
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session
sys.path.insert(0, sys.argv[1])
from models import Account, Base, Line, Order
if sys.argv[2] == "create":
    Base.metadata.create_all(create_engine("sqlite:///" + sys.argv[3]))
    sys.exit(0)
out = {}
for path in json.loads(sys.argv[3]):
    engine = create_engine("sqlite:///" + path)
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=ON"))
    with Session(engine) as session:
        account = Account(email=f"new@{len(out)}.example")
        session.add(account)
        session.flush()
        session.add(Order(account_id=account.id, number=1, total=250))
        session.add(Line(account_id=account.id, number=1, note="Adopted"))
        session.commit()
        big = session.scalars(select(Order).where(Order.total > 100)).all()
        out[path] = [session.query(Account).count(), len(big)]
    engine.dispose()
print(json.dumps(out))
"""


def test_sqlalchemy_databases_adopted_and_managed(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "models.py").write_text(textwrap.dedent(SQLALCHEMY_MODELS))
    base = tmp_path / "base.db"
    made = subprocess.run([sys.executable, "-c", SQLALCHEMY_SCRIPT, str(tmp_path), "create",
                           str(base)], capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    _copies(base, tmp_path / "files", 12, "INSERT INTO account(email) VALUES (?)",
            lambda i: [(f"a{n}@c{i}.example",) for n in range(i + 1)])
    project = tmp_path / "shop"
    assert cli("init", str(project), "--from", str(tmp_path / "files"), "--pattern",
               "customer*.db").rc == 0
    run = lambda *args: cli("-C", str(project), *args, check=True)  # noqa: E731
    run("column", "add", "account", "plan:TEXT:default=free")
    run("column", "rename", "line", "note", "memo")
    run("column", "rename", "line", "memo", "note")
    files = _tenant_files(project, cli)
    orm = subprocess.run([sys.executable, "-c", SQLALCHEMY_SCRIPT, str(tmp_path), "use",
                          json.dumps([str(p) for p in files])], capture_output=True, text=True,
                         timeout=60, check=False)
    assert orm.returncode == 0, orm.stderr
    for path, (accounts, big) in json.loads(orm.stdout).items():
        assert accounts == int(Path(path).stem[-3:]) + 2 and big == 1
    for path in files:
        _clean(path)
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT DISTINCT plan FROM account").fetchall() == [("free",)]
        conn.close()
    sql = (project / "schema/main/schema.sql").read_text()
    assert "CONSTRAINT email_long_enough CHECK" in sql and 'lower("note")' in sql
