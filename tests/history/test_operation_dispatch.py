"""Every dispatch over operation types names each type, and refuses one it does not know.

A new operation added to the models but forgotten in a dispatch must fail loudly, not plan no
SQL, replay to an unchanged schema, or invert to nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

import pytest

from cinch.engine.conflict_rules import _op_ids
from cinch.models.operations import Model, Operation, describe
from cinch.models.schema import Schema
from cinch.planner.invert import invert_op
from cinch.planner.plan import apply_op, plan


class Frobnicate(Model):
    """An operation the dispatches were not written for."""

    op: Literal["frobnicate"] = "frobnicate"


DISPATCHES: dict[str, Callable[[Any], object]] = {
    "plan": lambda op: plan(Schema(), op),
    "apply_op": lambda op: apply_op(Schema(), op),
    "invert_op": lambda op: invert_op(op, Schema()),
    "describe": describe,
    "conflict ids": _op_ids,
}


@pytest.mark.parametrize("name", DISPATCHES)
def test_an_unknown_operation_is_refused(name: str) -> None:
    with pytest.raises(AssertionError):
        DISPATCHES[name](Frobnicate())


def test_the_operation_union_is_what_the_dispatches_cover() -> None:
    # A type added to the union fails the dispatch tests above until each dispatch names it;
    # this pins the list so such an addition is seen here too.
    union = get_args(get_args(Operation)[0])
    assert sorted(t.__name__ for t in union) == sorted([
        "CreateTable", "DropTable", "RenameTable", "CopyTable", "AddColumn", "DropColumn",
        "RenameColumn", "AlterColumn", "CreateIndex", "DropIndex", "CreateView", "ReplaceView",
        "DropView", "CreateObject", "DropObject"])
