"""The HTTP face of cinch: a FastAPI app over one project (``cinch serve``).

Routers parse and render; every schema, merge, tenant and query decision is the engine's.
"""
