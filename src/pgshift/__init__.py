"""pgshift: safe, versioned PostgreSQL migrations.

The library API is :mod:`pgshift.api` (one function per command, typed results). Its names
are re-exported here lazily (PEP 562), so ``import pgshift`` stays cheap and
``pgshift.up(...)`` imports the API only when it is first used. Nothing inside pgshift
imports this package root: modules import what they need from their own rooms.
"""
from ._version import __version__

__all__ = ["__version__", "api"]  # + api.__all__, pinned equal by tests/unit/test_public_api.py


def __getattr__(name: str):
    import importlib  # noqa: PLC0415

    api = importlib.import_module("pgshift.api")
    if name == "api":
        return api
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'pgshift' has no attribute {name!r}")


def __dir__() -> list[str]:
    import importlib  # noqa: PLC0415

    return sorted(set(globals()) | set(importlib.import_module("pgshift.api").__all__) | {"api"})

