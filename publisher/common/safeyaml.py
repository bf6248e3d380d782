"""The one way untrusted YAML (front matter, briefs) is loaded: the safe C loader, with bounds.

Three things a plain `yaml.safe_load` lets through are refused with a one-line error naming the
file: a "billion laughs" alias bomb (measured on the node graph, where each anchor is stored once,
before anything is expanded), a timestamp no calendar holds (`2026-02-30`, hour 25, `+25:00`,
which PyYAML would raise as a bare ValueError) and nesting deep enough to exhaust the stack.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from publisher.errors import PublisherError

try:  # the C loader is ~10x faster, which matters for a 1,000-post site
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_YAML_NODES = 20_000  # values once aliases are expanded


class _BadScalar(Exception):
    """A scalar YAML reads as a timestamp but no calendar holds."""

    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node, self.reason = node, reason


class SafeLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, with impossible dates reported as such instead of escaping as ValueError."""


def _timestamp(loader: SafeLoader, node: yaml.ScalarNode) -> dt.date:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as exc:
        raise _BadScalar(node, str(exc)) from None


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_yaml(text: str, source: Path, error: type[PublisherError], what: str = "YAML") -> Any:
    """Parse `text` (from `source`); every problem is `error` with one line naming the file and line.

    yaml.YAMLError is left to the caller, which knows how to phrase a syntax error for its file."""
    try:
        if "*" in text:  # aliases: measure the expanded size before anything expands them
            _check_aliases(text, source, error, what)
        return yaml.load(text, Loader=SafeLoader)
    except _BadScalar as exc:
        line = exc.node.start_mark.line
        lines = text.splitlines()
        key = lines[line].split(":", 1)[0].strip().lstrip("- ") if line < len(lines) else "?"
        raise error(f"{source}: {what} line {line + 1}, '{key}': {str(exc.node.value)[:60]!r} is not a valid "
                    f"date/time ({exc.reason}); write e.g. 2026-04-20T09:30:00+02:00") from None
    except RecursionError:
        raise error(f"{source}: {what} is nested too deeply; write plain 'key: value' lines") from None


def _check_aliases(text: str, source: Path, error: type[PublisherError], what: str) -> None:
    root = yaml.compose(text, Loader=SafeLoader)
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = MAX_YAML_NODES + 1  # a node reached again while being measured: a cycle
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(item) for item in node.value)
        else:
            total = 1
        sizes[id(node)] = min(total, MAX_YAML_NODES + 1)
        return sizes[id(node)]

    if root is not None and size(root) > MAX_YAML_NODES:
        raise error(f"{source}: {what} expands past {MAX_YAML_NODES:,} values through YAML aliases (*name); "
                    "write the values out instead of repeating anchors")
