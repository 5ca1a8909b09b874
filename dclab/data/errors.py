"""Errors a user can fix; the CLI and app print them as one line."""


class DatasetUnavailableError(RuntimeError):
    """The data set's files are missing here and cannot be downloaded."""
