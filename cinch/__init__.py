"""cinch: a git-backed schema repository for multi-tenant SQLite.

    import cinch
    project = cinch.init("acme")          # or cinch.open("acme")
    db = project.database()               # "main"
    db.create_table("users", ["name:TEXT", "email:TEXT:unique"])
    project.tenant("main").insert("users", {"name": "Ann"})
"""

from cinch.engine.database import ChangeResult, Database
from cinch.engine.project import Project, init
from cinch.engine.project import open_project as open
from cinch.engine.tenant import Tenant
from cinch.errors import CinchError

__version__ = "0.1.0"
__all__ = ["ChangeResult", "CinchError", "Database", "Project", "Tenant", "init", "open"]
