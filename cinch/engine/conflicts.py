"""The semantic three-way merge of one database's schema: conflicts are values (as in Dolt).

``merge_schemas(db, base, ours, theirs)`` returns the merged schema and a list of typed
:class:`Conflict`; exceptions are kept for the unexpected. Pure: no git, no files; tenant data
is reached only through the ``probe`` the caller passes in.

*Ours* is the merge target, *theirs* the source. The merged log is ours' log, then theirs' new
change sets in theirs' order (see the merging concept page), so every rule asks one question: does
appending theirs to ours do what both sides meant? Objects are matched by stable id (a rename
is not a drop plus an add); where ids cannot meet (both sides created something) by name and
definition. Every rule is applied in both directions, so A into B and B into A report the same
conflicts with the sides swapped.

The work is split by concern: the values (:mod:`cinch.engine.conflict_types`), the rules and the
replay (:mod:`cinch.engine.conflict_rules`), the ways out written as commands
(:mod:`cinch.engine.resolutions`) and cinch.toml's merge (:mod:`cinch.engine.config_merge`).
This module gathers what callers use.
"""

from cinch.engine.config_merge import merge_config
from cinch.engine.conflict_rules import detect, merge_schemas
from cinch.engine.conflict_types import (
    KINDS,
    Conflict,
    Origin,
    Probe,
    SchemaMerge,
    Side,
    Touch,
    summarize,
)

__all__ = ["KINDS", "Conflict", "Origin", "Probe", "SchemaMerge", "Side", "Touch", "detect",
           "merge_config", "merge_schemas", "summarize"]
