"""One router per resource; each calls the engine and renders its answer."""
