"""Domain errors: refusals by the platform's own rules, raised by services and answered the same everywhere.

The API's exception handler (config/rest.py) turns any DomainError into problem+json with its status,
its code, its message and, where it concerns particular fields, `errors` (field -> messages). Each
kind of refusal has one status wherever it happens; views and serializers do not catch them.
"""


class DomainError(Exception):
    status: int = 422
    code: str = "unprocessable"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors
