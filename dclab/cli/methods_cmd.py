"""`python -m dclab methods [NAME] [--json] [--explain M]`: the methods with their settings, defaults, help
and presets; `--explain M` prints what method M does (objective, loop, what to watch, paper)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from dclab.config import FieldInfo
from dclab.methods import get_method, list_methods
from dclab.methods.explain import get_explanation

NAME = "methods"
HELP = "list condensation methods with their settings, defaults, help and presets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None, help="show only this method")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--explain", metavar="METHOD", default=None,
                        help="explain one method: its objective, its loop, what to watch, its paper")


def _type_name(t: Any) -> str:
    return getattr(t, "__name__", str(t).replace("typing.", ""))


def _limits(f: FieldInfo) -> str:
    if f.choices is not None:
        return "one of " + "|".join(str(c) for c in f.choices)
    bounds = [f">= {f.min}" if f.min is not None else "", f"<= {f.max}" if f.max is not None else ""]
    return ", ".join(b for b in bounds if b)


def method_info(name: str) -> dict[str, Any]:
    """Plain-data description of one method (also the --json output)."""
    cls = get_method(name)
    config_class = cls.config_class
    return {
        "name": name,
        "description": cls.description,
        "presets": {p: dict(v) for p, v in config_class.PRESETS.items()},
        "preset_sources": dict(getattr(config_class, "PRESET_SOURCES", {})),
        "fields": [
            {"name": f.name, "type": _type_name(f.type), "default": f.default, "help": f.help,
             "choices": list(f.choices) if f.choices is not None else None, "min": f.min, "max": f.max}
            for f in config_class.fields_info()
        ],
    }


def format_method(name: str) -> str:
    cls = get_method(name)
    config_class = cls.config_class
    presets = config_class.PRESETS
    lines = [f"{name}: {cls.description}".rstrip(": ")]
    fields = config_class.fields_info()
    width = max(len(f.name) for f in fields)
    for f in fields:
        preset_vals = ", ".join(f"{p}={v[f.name]!r}" for p, v in presets.items() if f.name in v)
        extra = "; ".join(x for x in (_limits(f), f"presets: {preset_vals}" if preset_vals else "") if x)
        lines.append(f"  {f.name:<{width}}  {_type_name(f.type):<5} default {f.default!r:<14} {f.help}"
                     + (f" ({extra})" if extra else ""))
    lines.append(f"  presets: {', '.join(presets) or '(none)'}")
    sources = getattr(config_class, "PRESET_SOURCES", {})
    lines += [f"    {p}: {sources[p]}" for p in presets if p in sources]
    fields, source = cls.published_protocol("cifar10", 10)
    lines.append(f"  published evaluation (CIFAR-10 IPC 10): {fields} [{source}]")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.explain:
        explanation = get_explanation(args.explain)  # UnknownNameError with the valid names
        print(json.dumps(dataclasses.asdict(explanation), indent=2) if args.json else explanation.to_text())
        return 0
    names = [args.name] if args.name else list_methods()
    if args.name:
        get_method(args.name)  # UnknownNameError with the valid names
    if args.json:
        print(json.dumps([method_info(n) for n in names], indent=2, default=str))
    else:
        print("\n\n".join(format_method(n) for n in names) if names else "no methods registered")
    return 0
