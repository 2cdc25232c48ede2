"""User-facing errors: every message says what went wrong, where, and what to do."""


class SergenError(Exception):
    """An error the user can fix. The CLI prints it without a traceback."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"  where: {self.where}")
        if self.fix:
            parts.append(f"  fix: {self.fix}")
        return "\n".join(parts)


class UnknownNameError(SergenError, KeyError):
    """An unknown corpus, model, head ... name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message
