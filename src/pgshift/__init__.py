"""pgshift: safe, versioned PostgreSQL migrations.

The library API lives in :mod:`pgshift.api` (one function per command); it is
imported lazily so that ``import pgshift`` stays cheap.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "api"]


def __getattr__(name):
    if name == "api":
        import importlib  # noqa: PLC0415

        return importlib.import_module("pgshift.api")
    raise AttributeError(name)
