"""Side-effect-free planning: operations in, statements and the schema after them out."""
