"""The toolkit's own error type.

Every mistake a user can fix (a bad file, a bad config, a run folder that is not a run) raises a
:class:`StanceError` whose message names the file, the line or key, and the fix. The CLI prints it
as one line and exits with status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class StanceError(Exception):
    """A user-facing error: ``str(err)`` is the one line the CLI prints."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(StanceError):
    """An experiment config that cannot be loaded or validated."""


class DataError(StanceError):
    """A statements file that cannot be read or does not follow the record schema."""


class RunError(StanceError):
    """A run directory that is missing, incomplete or not a stance run."""


class ModelError(StanceError):
    """A model that cannot be built, loaded or saved."""
