"""The confirmation policy: a protected or destructive action goes on only when confirmed
by ``--yes`` or by typing the word asked for; with neither, it is refused (exit 3)."""
from __future__ import annotations

from typing import Callable

from ..errors import SafetyRefusal
from ..events import CONFIRM, emit
from ..project import Project

Confirm = Callable[[str, str], bool]   # (prompt, the word to type) -> confirmed


def require(project: Project, action: str, word: str, yes: bool, confirm: Confirm | None) -> None:
    """Go on with *action* only when confirmed; raises SafetyRefusal otherwise."""
    if yes:
        emit(project.reporter, CONFIRM, f"confirmed by --yes: {action}")
        return
    if confirm is None:
        raise SafetyRefusal(f"refusing to {action} without confirmation",
                            hint="run it on a terminal and type the word asked for, or pass --yes")
    if not confirm(f"About to {action}. Type {word} to continue", word):
        raise SafetyRefusal(f"not confirmed: {action} cancelled; nothing was changed")
    emit(project.reporter, CONFIRM, f"confirmed: {action}")
