"""A tool call streamed in pieces (both providers send its arguments as JSON in parts), made whole."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from voice.agents.llm.types import LLMBadOutput, ToolCall


@dataclass(slots=True)
class PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: str = ""

    def complete(self, *, provider: str) -> ToolCall:
        if not self.name:
            raise LLMBadOutput(f"{provider}: a tool call without a name", provider=provider)
        try:
            arguments = json.loads(self.arguments) if self.arguments.strip() else {}
        except ValueError:
            raise LLMBadOutput(f"{provider}: the arguments of {self.name} are not JSON", provider=provider) from None
        if not isinstance(arguments, dict):
            raise LLMBadOutput(f"{provider}: the arguments of {self.name} are not an object", provider=provider)
        return ToolCall(id=self.id or "call_" + secrets.token_hex(12), name=self.name, arguments=arguments)
