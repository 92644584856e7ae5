"""The one YAML loader of tansaku configs: PyYAML's safe loader with YAML 1.2 scalars.

PyYAML implements YAML 1.1, which surprises a config author twice: ``1e-4`` (no dot) is a
*string*, and ``yes``/``no``/``on``/``off`` are *booleans*. :class:`ConfigLoader` resolves plain
scalars as YAML 1.2's core schema does for those two types:

* a float is ``1.5``, ``.5``, ``1.``, ``1e-4``, ``1E5``, ``-2.5e+3`` (``_`` between digits is kept
  from YAML 1.1), ``.inf``, ``-.inf``, ``.nan``;
* a boolean is only ``true``/``false`` (also ``True``, ``TRUE``...); ``yes``, ``no``, ``on``,
  ``off``, ``y``, ``n`` stay the strings the user wrote (e.g. categorical choices).

and refuses what YAML 1.1 silently accepts:

* a duplicate key in a mapping is an error naming the key and where it is
  (``space.lr: duplicate key 'low' (line 4)``), instead of the last one winning;
* an integer too long for Python to convert (over 4,300 digits) is an invalid-YAML error with
  its line, not a ``ValueError`` traceback.

:func:`load_yaml` is the entry point; every error is a one-line :class:`~tansaku.ConfigError`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tansaku._errors import ConfigError

__all__ = ["ConfigLoader", "load_yaml"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_FLOAT_TAG = "tag:yaml.org,2002:float"

_DIGITS = r"[0-9][0-9_]*"
_FLOAT_RE = re.compile(
    rf"""^(?:[-+]?(?:{_DIGITS}\.[0-9_]*|\.{_DIGITS})(?:[eE][-+]?[0-9]+)?   # 1.5 .5 1. 1.5e3
         |[-+]?{_DIGITS}[eE][-+]?[0-9]+                                    # 1e-4 1E5
         |[-+]?\.(?:inf|Inf|INF)
         |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 floats and booleans (see the module docstring)."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            raise ConstructorError(
                None, None, f"integer too long ({len(str(node.value))} characters)", node.start_mark
            ) from None


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver(_BOOL_TAG, _BOOL_RE, list("tTfF"))
ConfigLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
ConfigLoader.add_constructor("tag:yaml.org,2002:int", ConfigLoader.construct_yaml_int)


def _path(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out += p if p.startswith("[") else (f".{p}" if out else p)
    return out


def _check_duplicates(root: Node) -> None:
    """Raise ConfigError at the first mapping with a key written twice (merge keys ``<<`` and
    aliases are followed once each, so an alias bomb costs nothing here)."""
    seen_nodes: set[int] = set()
    stack: list[tuple[Node, list[str]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[tuple[str, str]] = set()
            children = []
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode):
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        children.append((value_node, path))
                        continue
                    key = (key_node.tag, key_node.value)
                    if key in keys:
                        raise ConfigError(
                            f"duplicate key {key_node.value!r} (line {key_node.start_mark.line + 1})",
                            field=_path(path) or None,
                        )
                    keys.add(key)
                    children.append((value_node, [*path, str(key_node.value)]))
                else:
                    children.append((value_node, path))
            stack.extend(reversed(children))
        elif isinstance(node, SequenceNode):
            stack.extend(
                (child, [*path, f"[{i}]"]) for i, child in reversed(list(enumerate(node.value)))
            )


def load_yaml(text: str, *, source: str = "config") -> Any:
    """Parse one YAML document with :class:`ConfigLoader`.

    Raises ConfigError (one line) for invalid YAML -- ``<source>: line N: invalid YAML: ...`` --
    and for a duplicate key (``<path>: duplicate key 'k' (line N)``, the path dotted from the top).
    """
    try:
        loader = ConfigLoader(text)  # the reader checks the characters here (ReaderError)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            try:
                _check_duplicates(node)
            except ConfigError as e:
                if e.field is None:
                    raise ConfigError(f"{source}: {e.reason}") from None
                raise
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{source}: {where}invalid YAML: {problem}") from None
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply") from None
    except (ValueError, OverflowError) as e:  # a constructor's own error, e.g. a bad timestamp
        raise ConfigError(f"{source}: invalid YAML: {e}") from None
