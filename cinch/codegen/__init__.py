"""Typed client code from a schema: Python (pydantic models and a query builder) and
TypeScript (a Kysely-style ``DB`` interface and a query builder). Pure: a schema in, files out.

``model`` turns a :class:`~cinch.models.schema.Schema` into what every language needs (each
column's kind, nullability, whether an insert may leave it out, names that are safe in the
target language); ``python`` and ``typescript`` render it through the jinja2 templates in
``templates/``. The engine (``cinch.engine.codegen``) reads the schema at a commit and writes
or checks the files.
"""
