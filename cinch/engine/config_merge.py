"""The three-way merge of cinch.toml: lists merged as sets, other values taken from the side that
changed them, a setting changed on both sides to different values reported as a conflict.
"""

from __future__ import annotations

from typing import Any

from cinch.engine.config import Config, flatten
from cinch.engine.conflict_types import Conflict, Origin
from cinch.engine.resolutions import config_ways


def merge_config(base: Config | None, ours: Config, theirs: Config, *, target: str,
                 source: str) -> tuple[Config, list[Conflict]]:
    """Three-way merge of the settings: lists as sets (additions and removals of both sides
    kept, ours' order first), other values taken from whichever side changed them."""
    b = flatten(base) if base is not None else {}
    o, t = flatten(ours), flatten(theirs)
    merged: dict[str, Any] = {}
    conflicts = []
    for key in sorted(o.keys() | t.keys(), key=lambda k: (k not in o, k)):
        bv, ov, tv = b.get(key), o.get(key), t.get(key)
        if isinstance(ov, list) or isinstance(tv, list):
            merged[key] = _merge_list(bv or [], ov or [], tv or [])
        elif ov == tv or tv == bv:
            merged[key] = ov
        elif ov == bv:
            merged[key] = tv
        else:
            merged[key] = ov
            conflicts.append(Conflict(
                "config_conflict", "", f"cinch.toml {key}",
                Origin(None, f"{key} = {ov!r}"), Origin(None, f"{key} = {tv!r}"),
                f"{target} sets {key} to {ov!r} and {source} sets it to {tv!r}",
                config_ways(key, ov, tv, source, target)))
    return Config.model_validate(_unflatten({k: v for k, v in merged.items() if v is not None})), \
        conflicts


def _merge_list(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    removed = {x for x in base if x not in ours or x not in theirs}
    out = [x for x in ours if x not in removed]
    out += [x for x in theirs if x not in removed and x not in out]
    return out


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        # Settings nest at most three deep; the third part is a merge.approvals pattern,
        # which may itself hold dots (release/1.x).
        *parents, leaf = key.split(".", 2)
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
