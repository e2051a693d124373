"""Pydantic models: change sets, their operations, and the schema they build."""

from cinch.models.changeset import Author, ChangeSet, parse_change
from cinch.models.operations import Operation
from cinch.models.schema import Column, ForeignKey, Index, Schema, Table, View

__all__ = [
    "Author", "ChangeSet", "Column", "ForeignKey", "Index", "Operation", "Schema", "Table",
    "View", "parse_change",
]
