"""Errors a user can hit, each with the exit code of DESIGN.md and a message that says what to do."""

from __future__ import annotations


class MonotuiError(Exception):
    """Base of every error that reaches a user as one line, never as a traceback."""

    exit_code = 1


class ConfigError(MonotuiError):
    """The configuration file or the command line is wrong."""

    exit_code = 2


class TerminalError(MonotuiError):
    """The terminal cannot show the cockpit (TERM=dumb, or no terminal at all)."""

    exit_code = 2


class NotFoundError(MonotuiError):
    """A named resource (route, rollout, flag) does not exist."""

    exit_code = 2


class ConflictError(MonotuiError):
    """The resource changed since it was read; nothing was applied."""

    exit_code = 3


class PermissionDeniedError(MonotuiError):
    """RBAC (or the file system) refused the operation."""

    exit_code = 4


class BackendUnavailableError(MonotuiError):
    """A backend did not answer, or answered too late."""

    exit_code = 5


class ReadOnlyError(MonotuiError):
    """A write was attempted in read-only mode; nothing was sent."""

    exit_code = 4


class SourceError(MonotuiError):
    """A source answered with something we cannot use (bad PromQL, garbage JSON, HTTP 500)."""

    exit_code = 5


class StaleDataError(SourceError):
    """A source answered, but with data older than it should be; shown as STALE with its age."""

    def __init__(self, message: str, age_s: float) -> None:
        super().__init__(message)
        self.age_s = age_s


class UncertainWriteError(BackendUnavailableError):
    """A write was sent but its answer never came: it MAY have been applied.

    `patch` is what was sent, so the audit log can say exactly what may have happened.
    """

    def __init__(self, message: str, patch: str = "") -> None:
        super().__init__(message)
        self.patch = patch


class UnsafeEditError(MonotuiError):
    """The change cannot be made without changing more than was asked (a shared YAML value, a
    file that would lose its comments); nothing was written."""

    exit_code = 2
