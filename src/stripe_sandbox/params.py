"""Reading request parameters the way Stripe validates them, naming the bad one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stripe_sandbox.errors import invalid, missing_param, unknown_param

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


class Params:
    """A view on a (sub)tree of parsed parameters; ``prefix`` names it in errors."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def has(self, key: str) -> bool:
        return key in self.data

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for key in self.data:
            if key not in known:
                raise unknown_param(self.name(key))

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        choices: Iterable[str] | None = None,
        max_length: int | None = None,
    ) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return None
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {self.name(key)} must be a string.", self.name(key))
        if choices is not None and value not in set(choices):
            options = ", ".join(f"`{choice}`" for choice in choices)
            raise invalid(f"Invalid {self.name(key)}: must be one of {options}", self.name(key))
        if max_length is not None and len(value) > max_length:
            raise invalid(
                f"Invalid {self.name(key)}: must be at most {max_length} characters",
                self.name(key),
            )
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise invalid(f"Invalid integer: {raw}", self.name(key)) from None
        if minimum is not None and value < minimum:
            raise invalid(
                f"Invalid {self.name(key)}: must be greater than or equal to {minimum}",
                self.name(key),
            )
        if maximum is not None and value > maximum:
            raise invalid(
                f"Invalid {self.name(key)}: must be less than or equal to {maximum}",
                self.name(key),
            )
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            raise invalid(f"Invalid number: {raw}", self.name(key)) from None

    def boolean(self, key: str) -> bool | None:
        raw = self.text(key)
        if raw is None:
            return None
        if raw not in ("true", "false"):
            raise invalid(f"Invalid boolean: {raw}", self.name(key))
        return raw == "true"

    def child(self, key: str, *, required: bool = False) -> Params | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return None
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self.name(key)} must be an object", self.name(key))
        return Params(value, self.name(key))

    def children(self, key: str, *, required: bool = False) -> list[Params]:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(
                f"Invalid array: {self.name(key)} must be an array of objects",
                self.name(key),
            )
        return [Params(v, f"{self.name(key)}[{i}]") for i, v in enumerate(value)]

    def strings(self, key: str, *, required: bool = False) -> list[str]:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self.name(key))
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(
                f"Invalid array: {self.name(key)} must be an array of strings",
                self.name(key),
            )
        return list(value)

    def metadata(self, key: str = "metadata") -> dict[str, str]:
        """Stripe's metadata: 50 keys at most, keys ≤ 40 chars, values ≤ 500 chars.

        An empty value unsets the key, as in Stripe.
        """
        value = self.data.get(key)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {self.name(key)} must be an object", self.name(key))
        result: dict[str, str] = {}
        for meta_key, meta_value in value.items():
            name = f"{self.name(key)}[{meta_key}]"
            if not isinstance(meta_value, str):
                raise invalid(f"Invalid value for {name}: metadata values must be strings", name)
            if len(meta_key) > METADATA_MAX_KEY_LENGTH:
                raise invalid(
                    f"Invalid metadata: metadata keys must be at most "
                    f"{METADATA_MAX_KEY_LENGTH} characters (got {meta_key!r}).",
                    name,
                )
            if len(meta_value) > METADATA_MAX_VALUE_LENGTH:
                raise invalid(
                    f"Invalid metadata: metadata values must be at most "
                    f"{METADATA_MAX_VALUE_LENGTH} characters ({name}).",
                    name,
                )
            if meta_value != "":
                result[meta_key] = meta_value
        if len(result) > METADATA_MAX_KEYS:
            raise invalid(
                f"Invalid metadata: metadata can have at most {METADATA_MAX_KEYS} keys (got {len(result)}).",
                self.name(key),
            )
        return result
