"""The lint rules, one a module; the list is :data:`pgshift.lint.registry.RULES`."""
