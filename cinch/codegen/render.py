"""The jinja2 environment of the code templates (shipped as package data)."""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cinch.codegen", "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
        lstrip_blocks=True, autoescape=False,  # source code, not HTML
    )
    env.filters["pyrepr"] = repr
    env.filters["tsstr"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
