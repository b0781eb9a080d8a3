"""Validates sandbox responses against the vendored Twilio OpenAPI spec (sandbox/twilio/openapi).

For a method + concrete path it finds the spec operation (path templates like
/Accounts/{AccountSid}/Messages/{Sid}.json, literal segments winning over parameters), takes the
response schema for the status code, inlines $refs, and rewrites OpenAPI 3.0 for JSON Schema:
``nullable: true`` becomes a ``"null"`` type (and a None enum member).

``strict=True`` (the default) also requires every declared property and forbids undeclared ones,
which the spec itself leaves open: Twilio always sends every field (null when empty), so a missing
or misspelt field is a sandbox bug the loose schema would let through.

Error responses (4xx/5xx) have no schema in the spec; they are checked against Twilio's error body.
"""

from __future__ import annotations

import copy
import email.utils
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "twilio_api_v2010.json"

TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}

_RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time-rfc-2822")
def _is_rfc2822(value: object) -> bool:
    return (
        not isinstance(value, str)
        or bool(_RFC2822.match(value))
        and email.utils.parsedate_to_datetime(value) is not None
    )


@FORMATS.checks("http-method")
def _is_http_method(value: object) -> bool:
    return not isinstance(value, str) or value in ("GET", "POST")


@FORMATS.checks("currency")
def _is_currency(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Z]{3}", value))


@FORMATS.checks("iso-country-code")
def _is_country(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Z]{2}", value))


class ValidationFailure(AssertionError):
    pass


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    responses: dict[str, Any]


class OpenApiValidator:
    def __init__(self, spec_path: Path = SPEC_PATH, *, strict: bool = True) -> None:
        self.spec = json.loads(spec_path.read_text())
        self.strict = strict
        self._schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._templates: list[tuple[re.Pattern[str], int, str]] = []
        for template in self.spec["paths"]:
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
            self._templates.append((re.compile(pattern), template.count("{"), template))
        # Fewest parameters first: /IncomingPhoneNumbers/Local.json beats /IncomingPhoneNumbers/{Sid}.json.
        self._templates.sort(key=lambda t: t[1])

    def operation(self, method: str, path: str) -> Operation:
        for pattern, _, template in self._templates:
            if pattern.match(path):
                operation = self.spec["paths"][template].get(method.lower())
                if operation is None:
                    raise ValidationFailure(f"the spec has no {method} for {template}")
                return Operation(template, method.upper(), operation["responses"])
        raise ValidationFailure(f"no path in the spec matches {path}")

    def validate(self, method: str, path: str, status: int, body: Any) -> str:
        """Raise ValidationFailure unless body is right for this operation and status; return the template."""
        if status >= 400:
            # Errors are the same shape everywhere, including paths the spec does not know.
            self._check(TWILIO_ERROR_SCHEMA, body, f"{method} {path} -> {status}")
            if body["status"] != status:
                raise ValidationFailure(f"{method} {path}: error body says status {body['status']}, HTTP says {status}")
            return "<error>"
        operation = self.operation(method, path)
        response = operation.responses.get(str(status))
        if response is None:
            raise ValidationFailure(
                f"{method} {operation.template}: the spec has no {status} response ({sorted(operation.responses)})"
            )
        content = response.get("content", {}).get("application/json")
        if content is None:
            if body is not None:
                raise ValidationFailure(
                    f"{method} {operation.template} {status}: the spec has no body, got {body!r:.200}"
                )
            return operation.template
        self._check(self.schema(operation.template, method.lower(), str(status)), body, f"{method} {path} -> {status}")
        return operation.template

    def schema(self, template: str, method: str, status: str) -> dict[str, Any]:
        key = (template, method, status)
        if key not in self._schemas:
            raw = self.spec["paths"][template][method]["responses"][status]["content"]["application/json"]["schema"]
            self._schemas[key] = self.resolve(raw)
        return self._schemas[key]

    def _check(self, schema: dict[str, Any], body: Any, where: str) -> None:
        validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
        problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if problems:
            details = "; ".join(f"{'/'.join(map(str, p.absolute_path)) or '<root>'}: {p.message}" for p in problems[:5])
            raise ValidationFailure(f"{where}: {len(problems)} schema violation(s): {details}")

    # --- OpenAPI 3.0 -> JSON Schema ----------------------------------------------------------------

    def resolve(self, node: Any, depth: int = 0) -> Any:
        if depth > 50:
            raise ValidationFailure("$ref nesting too deep (a cycle?)")
        if isinstance(node, list):
            return [self.resolve(item, depth + 1) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = self._lookup(node["$ref"])
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            resolved = self.resolve(copy.deepcopy(target), depth + 1)
            if siblings.get("nullable"):
                return {"anyOf": [resolved, {"type": "null"}]}
            return resolved
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties":  # property names are data, not keywords: keep them all
                out[key] = {name: self.resolve(sub, depth + 1) for name, sub in value.items()}
            elif key not in ("nullable", "example", "examples", "description") and not key.startswith("x-"):
                out[key] = self.resolve(value, depth + 1)
        if node.get("nullable"):
            kind = out.get("type")
            if isinstance(kind, str):
                out["type"] = [kind, "null"]
            elif kind is None:
                out = {"anyOf": [out, {"type": "null"}]}
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        if self.strict and out.get("type") in ("object", ["object", "null"]) and "properties" in out:
            out["required"] = sorted(out["properties"])
            out["additionalProperties"] = False
        return out

    def _lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValidationFailure(f"external $ref {ref} is not supported")
        node: Any = self.spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node
