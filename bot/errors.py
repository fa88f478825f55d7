"""Errors a user can be told about. Each carries a message safe to show in chat or the CLI."""


class UserError(Exception):
    """Bad input or a refused action: the message is shown to the user as it is."""


class NotFound(UserError):
    pass


class PermissionDenied(UserError):
    pass


class Ambiguous(UserError):
    """Several things match; ``choices`` lets the edge offer buttons."""

    def __init__(self, message: str, choices: list[tuple[str, str]]):
        super().__init__(message)
        self.choices = choices
