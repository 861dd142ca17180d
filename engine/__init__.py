"""The interpreter: load -> validate -> compile -> evaluate."""
