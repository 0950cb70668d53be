"""Small named registries for the pluggable pieces (rewards, users, hint encoders, initialisers).

A registry maps a name to a callable. Researchers add their own with the decorator::

    from segenv.rewards import REWARDS

    @REWARDS.register("my_reward")
    def my_reward(inputs, *, scale=1.0):
        return scale * inputs.gain

and every place that takes a name also accepts the callable itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from segenv.errors import ConfigError, InputTypeError

F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """A name → callable mapping with a registering decorator and helpful lookup errors."""

    def __init__(self, kind: str, argument: str, handle: str) -> None:
        """Create an empty registry.

        Args:
            kind: What the entries are, for messages (e.g. ``"reward design"``).
            argument: The keyword users pass names with (e.g. ``"reward"``).
            handle: Where users find the registry (e.g. ``"segenv.rewards.REWARDS"``).
        """
        self.kind = kind
        self.argument = argument
        self.handle = handle
        self._entries: dict[str, F] = {}

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[F], F]:
        """Decorator that registers a callable under ``name``."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def decorator(fn: F) -> F:
            if not callable(fn):
                raise InputTypeError(
                    f"only callables can be registered as a {self.kind}, got {fn!r}"
                )
            if name in self._entries and not overwrite:
                raise ConfigError(
                    f"a {self.kind} named {name!r} is already registered; "
                    "pick another name or pass overwrite=True"
                )
            self._entries[name] = fn
            return fn

        return decorator

    def get(self, name_or_fn: str | F) -> F:
        """Return the callable registered as ``name_or_fn``, or ``name_or_fn`` if it is callable."""
        if callable(name_or_fn):
            return name_or_fn
        if not isinstance(name_or_fn, str):
            raise InputTypeError(
                f"{self.argument}= must be a registered name or a callable, got {name_or_fn!r}"
            )
        try:
            return self._entries[name_or_fn]
        except KeyError:
            close = difflib.get_close_matches(name_or_fn, self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} {self.argument}={name_or_fn!r}.{hint} "
                f"Known: {', '.join(sorted(self._entries))}; or register your own with "
                f"@{self.handle}.register(name), or pass a callable."
            ) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
