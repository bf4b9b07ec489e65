"""Prompt-injection guard: every untrusted text passes here before it reaches a model.

Untrusted = anything not written by SIGMAX itself (headlines, posts, web text). The
guard looks for instruction overrides, role/system tags, tool-call and link/URL
exfiltration, invisible characters and overlong input. It either rejects the text
with the reasons, or neutralises it (strips invisible characters, replaces the
offending spans with a marker, truncates) and reports what it changed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)

_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "instruction override",
        "[instruction removed]",
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,60}?"
            r"\b(?:instructions?|prompts?|rules?|directions?|guidelines?|context)\b"
            r"|\byou\s+are\s+now\b|\bnew\s+instructions?\b|\bfrom\s+now\s+on\b"
            r"|\b(?:developer|god|jailbreak)\s+mode\b|\bjailbreak\b"
            r"|\b(?:reveal|print|show|repeat|leak)\b[^.\n]{0,40}?"
            r"\b(?:system\s+prompt|instructions|api[\s_-]?keys?|secrets?|passwords?)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "role tag",
        "[tag removed]",
        re.compile(
            r"<\s*/?\s*(?:system|assistant|user|developer|tool|untrusted)\b[^>]{0,80}>"
            r"|<\|[^|>]{0,40}\|>|\[/?(?:INST|SYS)\]|<<\s*/?SYS\s*>>"
            r"|^\s*#{0,6}\s*(?:system|assistant|developer)\s*:",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
    (
        "tool call",
        "[tool call removed]",
        re.compile(
            r"[\"']?(?:tool_calls?|function_call|tool_use)[\"']?\s*:"
            r"|\b(?:call|invoke|execute|run)\s+(?:the\s+)?(?:tool|function|command|shell)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "link or url",
        "[link removed]",
        re.compile(
            r"!?\[[^\]\n]{0,200}\]\([^)\n]{0,500}\)"
            r"|\b(?:https?|ftp|file|data|javascript):\S+|\bwww\.\S+",
            re.IGNORECASE,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class GuardResult:
    """The guard's verdict on one text: ``text`` is what may reach the model (None when
    rejected); ``findings`` lists every problem seen, empty for clean text."""

    text: str | None
    findings: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.text is not None


class PromptGuard:
    """Checks untrusted text for prompt injection; rejects or neutralises it."""

    def __init__(self, max_chars: int = 2000, reject_suspicious: bool = True) -> None:
        if max_chars < 1:
            raise ValueError(f"prompt guard: max_chars must be >= 1, got {max_chars}")
        self.max_chars = max_chars
        self.reject_suspicious = reject_suspicious

    def check(self, text: str, source: str = "untrusted text") -> GuardResult:
        """Inspect ``text`` (from ``source``, named in the findings)."""
        if not isinstance(text, str):
            return GuardResult(None, (f"{source}: not a string ({type(text).__name__})",))
        findings: list[str] = []
        cleaned = _INVISIBLE.sub("", text)
        if cleaned != text:
            findings.append(f"{source}: {len(text) - len(cleaned)} invisible character(s)")
        cleaned = unicodedata.normalize("NFKC", cleaned)
        if len(cleaned) > self.max_chars:
            findings.append(f"{source}: {len(cleaned)} characters, over the {self.max_chars} limit")
            cleaned = cleaned[: self.max_chars]
        for label, marker, pattern in _PATTERNS:
            hits = pattern.findall(cleaned)
            if hits:
                findings.append(f"{source}: {label} ({hits[0]!r})")
                cleaned = pattern.sub(marker, cleaned)
        if findings and self.reject_suspicious:
            return GuardResult(None, tuple(findings))
        return GuardResult(cleaned, tuple(findings))
