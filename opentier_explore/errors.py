"""The kit's error hierarchy: every expected failure is one of these, printed as one sentence."""

from __future__ import annotations


class OpentierError(Exception):
    """Base of every error a user can cause; its message is one sentence saying what to do."""

    exit_code = 1

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: one sentence in a notebook too.
        return [f"{type(self).__name__}: {self}"]


class ConfigError(OpentierError):
    """A setting, URL or argument is malformed."""

    exit_code = 2


class ConnectionFailed(OpentierError):
    """The database server cannot be reached or refuses the credentials."""


class ServerError(OpentierError):
    """The embedded PostgreSQL server cannot be started, stopped or found."""


class MigrationError(OpentierError):
    """The migrations folder and the database ledger disagree, or a migration failed."""


class NotMigrated(OpentierError):
    """The database lacks the kit's schema."""


class SchemaError(OpentierError):
    """A table or column the caller asked for is missing from the database."""


class UnknownNameError(SchemaError, KeyError):
    """An unknown table or column name, with the closest names suggested."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ReportError(OpentierError):
    """A notebook failed while being executed into a report."""


class SeedError(OpentierError):
    """Seeding refused or failed; the database is left as it was."""


class RecoveryConflict(OpentierError):
    """A hot standby cancelled a read because replaying the primary's changes conflicted with it."""


class ReadOnlyRefused(OpentierError):
    """A statement that could write, or change the transaction's read-only mode, was refused."""
