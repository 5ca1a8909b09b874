"""Typed, frozen configs with help text and named presets; shared by CLI (--set k=v) and app forms."""
from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A user-supplied setting is invalid; the message is one line for the CLI/app."""


# Settings renamed since runs were first saved: old name -> current name. `build` accepts the old
# names (a saved run's config.json, an old `--set`), so every saved run still loads and resumes.
RENAMED_SETTINGS: Mapping[str, str] = {"fast": "batched", "net_width": "width"}


def current_names(values: Mapping[str, Any], fields: Collection[str] | None = None) -> dict[str, Any]:
    """`values` with renamed settings under their current names (with `fields`: only where the
    config has the new name and not the old); an old and a current name for the same setting
    together is a one-line ConfigError."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        new = RENAMED_SETTINGS.get(key)
        if new is not None and (fields is None or (key not in fields and new in fields)):
            if new in values:
                raise ConfigError(f"{key!r} is the old name of {new!r}; give only {new!r}")
            key = new
        out[key] = value
    return out


def parse_assignments(items: Iterable[str], flag: str = "--set") -> dict[str, str]:
    """['lr_img=1', 'net=convnet'] -> {'lr_img': '1', 'net': 'convnet'}; the values stay strings
    (`BaseConfig.build` parses them). A malformed item is a one-line ConfigError naming `flag`."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def setting(default: Any, help: str, **choices: Any) -> Any:
    """A dataclass field with a help text (and optional `choices=(...)`, `min=`, `max=`)."""
    return dataclasses.field(default=default, metadata={"help": help, **choices})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class BaseConfig:
    """Base of every method/protocol config. Subclasses set PRESETS = {'paper': {...}, 'cpu': {...}}."""

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    @classmethod
    def fields_info(cls) -> list[FieldInfo]:
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            md = f.metadata
            out.append(
                FieldInfo(
                    name=f.name,
                    type=hints[f.name],
                    default=f.default,
                    help=md.get("help", ""),
                    choices=tuple(md["choices"]) if "choices" in md else None,
                    min=md.get("min"),
                    max=md.get("max"),
                )
            )
        return out

    @classmethod
    def preset_names(cls) -> list[str]:
        return list(cls.PRESETS)

    @classmethod
    def build(cls, preset: str | None = None, overrides: Mapping[str, Any] | None = None):
        """Defaults, then the named preset, then overrides (values may be strings, as from --set)."""
        values: dict[str, Any] = {}
        if preset:
            if preset not in cls.PRESETS:
                raise ConfigError(
                    f"unknown preset {preset!r} for {cls.__name__}; choose one of: "
                    f"{', '.join(cls.PRESETS) or '(none)'}"
                )
            values.update(cls.PRESETS[preset])
        info = {f.name: f for f in cls.fields_info()}
        values.update(current_names(overrides or {}, info))
        parsed = {}
        for key, raw in values.items():
            if key not in info:
                raise ConfigError(
                    f"unknown setting {key!r} for {cls.__name__}; valid: {', '.join(info)}"
                )
            parsed[key] = _coerce(info[key], raw)
        cfg = cls(**parsed)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check choices, finite numbers and ranges; subclasses add cross-field checks."""
        for f in self.fields_info():
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{f.name} must be a finite number, got {v!r}")
            if f.choices is not None and v not in f.choices:
                raise ConfigError(f"{f.name} must be one of {list(f.choices)}, got {v!r}")
            if f.min is not None and v < f.min:
                raise ConfigError(f"{f.name} must be >= {f.min}, got {v!r}")
            if f.max is not None and v > f.max:
                raise ConfigError(f"{f.name} must be <= {f.max}, got {v!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any):
        return dataclasses.replace(self, **changes)


def _coerce(info: FieldInfo, raw: Any) -> Any:
    """Parse a CLI/app string into the field's type (bool, int, float, str, Optional[...])."""
    typ = info.type
    origin = typing.get_origin(typ)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if isinstance(raw, str) and raw.lower() in ("none", "null", ""):
            return None
        if raw is None:
            return None
        typ = args[0]
    if not isinstance(raw, str):
        if typ is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if typ in (int, float, str, bool) and not isinstance(raw, typ):
            raise ConfigError(f"{info.name} must be {typ.__name__}, got {raw!r}")
        return raw
    try:
        if typ is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(raw)
        if typ is float:
            return float(raw)
        return raw
    except ValueError:
        raise ConfigError(f"{info.name} must be {typ.__name__}, got {raw!r}") from None
