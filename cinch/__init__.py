"""cinch: a git-backed schema repository for multi-tenant SQLite.

    import cinch
    project = cinch.init("acme")          # or cinch.open("acme")
    db = project.database()               # "main"
    db.create_table("users", ["name:TEXT", "email:TEXT:unique"])
    db.tenants.create("globex")
    db.tenants.get("globex").insert("users", {"name": "Ann"})
    project.switch("feature", create=True)
    project.merge("feature", "main")

Every face (the CLI, the HTTP server, the git hooks) goes through this API; README.md has
the whole tour.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cinch.errors import CinchError

__version__ = "0.1.0"
__all__ = [
    "Adoption", "BranchInfo", "ChangeResult", "ChangeSet", "CinchError", "Column", "ColumnSpec",
    "DataWatch", "Database", "DefaultExpr", "DefaultValue", "Index", "LimitsConfig", "LogItem",
    "MergeReport",
    "MergeResult", "Project", "QueryResult", "RevertResult", "Schema", "SettingChange", "SyncResult", "Table",
    "TagInfo", "Tenant", "TenantCollection", "TenantInfo", "TenantState", "View", "check_receive", "clone",
    "describe", "glance", "init", "init_hub", "open", "plan_adoption",
]

# The engine's public names, imported on first use (PEP 562): importing any cinch module
# imports this package first, and the engine is too heavy to load for every `cinch` command.
# The data types of the layers below (schema objects, column specs, query results) are
# re-exported here so that no face needs to import those layers.
_ENGINE_EXPORTS: dict[str, tuple[str, str]] = {
    "Adoption": ("cinch.engine.adopt", "Adoption"),
    "BranchInfo": ("cinch.engine.branches", "BranchInfo"),
    "ChangeResult": ("cinch.engine.database", "ChangeResult"),
    "ChangeSet": ("cinch.models.changeset", "ChangeSet"),
    "Column": ("cinch.models.schema", "Column"),
    "ColumnSpec": ("cinch.planner.columns", "ColumnSpec"),
    "DataWatch": ("cinch.engine.tenant", "DataWatch"),
    "Database": ("cinch.engine.database", "Database"),
    "DefaultExpr": ("cinch.models.schema", "DefaultExpr"),
    "DefaultValue": ("cinch.models.schema", "DefaultValue"),
    "Index": ("cinch.models.schema", "Index"),
    "LimitsConfig": ("cinch.engine.config", "LimitsConfig"),
    "LogItem": ("cinch.engine.inspect", "LogItem"),
    "MergeReport": ("cinch.engine.merge", "MergeReport"),
    "MergeResult": ("cinch.engine.merge", "MergeResult"),
    "Project": ("cinch.engine.project", "Project"),
    "QueryResult": ("cinch.stores.query", "QueryResult"),
    "RevertResult": ("cinch.engine.revert", "RevertResult"),
    "Schema": ("cinch.models.schema", "Schema"),
    "SettingChange": ("cinch.engine.settings", "SettingChange"),
    "SyncResult": ("cinch.engine.remotes", "SyncResult"),
    "Table": ("cinch.models.schema", "Table"),
    "TagInfo": ("cinch.engine.tags", "TagInfo"),
    "Tenant": ("cinch.engine.tenant", "Tenant"),
    "TenantCollection": ("cinch.engine.tenant_collection", "TenantCollection"),
    "TenantInfo": ("cinch.engine.tenants", "TenantInfo"),
    "TenantState": ("cinch.engine.tenants", "TenantState"),
    "View": ("cinch.models.schema", "View"),
    "check_receive": ("cinch.engine.hub", "check_receive"),
    "clone": ("cinch.engine.remotes", "clone"),
    "describe": ("cinch.models.operations", "describe"),
    "glance": ("cinch.engine.glance", "glance"),
    "init": ("cinch.engine.project", "init"),
    "init_hub": ("cinch.engine.hub", "init_hub"),
    "open": ("cinch.engine.project", "open_project"),
    "plan_adoption": ("cinch.engine.adopt", "plan_adoption"),
}

if TYPE_CHECKING:
    from cinch.engine.adopt import Adoption, plan_adoption
    from cinch.engine.branches import BranchInfo
    from cinch.engine.config import LimitsConfig
    from cinch.engine.database import ChangeResult, Database
    from cinch.engine.glance import glance
    from cinch.engine.hub import check_receive, init_hub
    from cinch.engine.inspect import LogItem
    from cinch.engine.merge import MergeReport, MergeResult
    from cinch.engine.project import Project, init
    from cinch.engine.project import open_project as open
    from cinch.engine.remotes import SyncResult, clone
    from cinch.engine.revert import RevertResult
    from cinch.engine.settings import SettingChange
    from cinch.engine.tags import TagInfo
    from cinch.engine.tenant import DataWatch, Tenant
    from cinch.engine.tenant_collection import TenantCollection
    from cinch.engine.tenants import TenantInfo, TenantState
    from cinch.models.changeset import ChangeSet
    from cinch.models.operations import describe
    from cinch.models.schema import Column, DefaultExpr, DefaultValue, Index, Schema, Table, View
    from cinch.planner.columns import ColumnSpec
    from cinch.stores.query import QueryResult
else:  # a module __getattr__ seen by type checkers would hide misspelt names from them

    def __getattr__(name: str) -> object:
        try:
            module, attribute = _ENGINE_EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'cinch' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ENGINE_EXPORTS})
