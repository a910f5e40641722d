"""What the benchmarks share."""
from __future__ import annotations

import compileall
from pathlib import Path


def compile_pgshift() -> None:
    """Byte-compile pgshift's modules, as pip does when it installs a wheel.

    An editable install under PYTHONDONTWRITEBYTECODE (as on CI machines) would otherwise
    compile every module at every start: about 50 ms that an installed pgshift never pays.
    """
    import pgshift  # noqa: PLC0415

    compileall.compile_dir(Path(pgshift.__file__).parent, quiet=1)


def new_database(server: str, name: str, template: str | None = None) -> str:
    """A new database *name* on the server at *server* (dropped first if it exists), empty or a
    copy of *template*; its URL."""
    from pgshift import db  # noqa: PLC0415

    db.drop_database(server, name)
    return db.create_database(server, name, template=template)
