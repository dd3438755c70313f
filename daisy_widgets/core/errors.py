"""Error types shared by every layer of Daisy.

Every error a user can meet names *where* the problem is (file, field, step,
parameter) and *what was expected*, so that the CLI and the apps can show it in
plain words instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping


class DaisyError(Exception):
    """Base class of all errors raised on purpose by Daisy."""


class ValidationError(DaisyError, ValueError):
    """One or more invalid parameters or inputs, reported all at once.

    Parameters
    ----------
    owner
        What was being validated, e.g. an algorithm name or ``"workflow 'x', step 'y'"``.
    problems
        Mapping from parameter/input name to the list of problems found for it.
    """

    def __init__(self, owner: str, problems: Mapping[str, list[str]]):
        self.owner = owner
        self.problems = {k: list(v) for k, v in problems.items() if v}
        lines = [f"{owner}: invalid value(s)"]
        for key, msgs in self.problems.items():
            for msg in msgs:
                lines.append(f"  {key}: {msg}")
        super().__init__("\n".join(lines))


class InputFileError(DaisyError, ValueError):
    """A data file that cannot be used, naming the file, the field and what was expected.

    Parameters
    ----------
    path
        The file (or URI) that was read.
    field
        The dataset, column, keyword or extension inside the file (``""`` for the file itself).
    expected
        What was expected there, in words.
    found
        What was found instead (optional).
    """

    def __init__(self, path: object, field: str, expected: str, found: str | None = None):
        self.path = str(path)
        self.field = field
        self.expected = expected
        self.found = found
        where = f"{self.path}" + (f" [{field}]" if field else "")
        msg = f"{where}: expected {expected}"
        if found is not None:
            msg += f", found {found}"
        super().__init__(msg)


class Cancelled(DaisyError):
    """Raised when a running workflow or algorithm was cancelled by the user."""


class StepError(DaisyError, RuntimeError):
    """A workflow step failed; names the workflow, the step, the chunk and the cause."""

    def __init__(self, workflow: str, step: str, cause: BaseException, chunk: object | None = None):
        self.workflow = workflow
        self.step = step
        self.chunk = chunk
        self.cause = cause
        where = f"workflow '{workflow}', step '{step}'"
        if chunk is not None:
            where += f", chunk {chunk}"
        super().__init__(f"{where} failed: {type(cause).__name__}: {cause}")
