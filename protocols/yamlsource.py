"""YAML loading that remembers where every value came from.

A technician fixing ``site.yaml`` on a gateway over a serial console needs ``FILE:LINE`` for
each mistake, and pydantic only knows field paths. So the document is composed to YAML
nodes first; every field path (``("devices", 1, "registers", 0, "unit")``) is mapped to the
1-based line of its node, and error locations are translated through that map.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FieldPath = tuple[str | int, ...]


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; ``line`` says where the parser gave up."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        super().__init__(f"{path.name}:{line}: {problem}")


@dataclass(frozen=True)
class LineMap:
    """Field path -> line, for one loaded document."""

    lines: dict[FieldPath, int]

    def line_for(self, path: FieldPath) -> int:
        """The line of ``path``, or of its nearest ancestor present in the file (a missing field)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


def load_yaml(path: Path) -> tuple[Any, LineMap]:
    """Read ``path`` and return the plain data and where each part of it was written."""
    return parse_yaml(path.read_text(encoding="utf-8"), path)


def parse_yaml(text: str, path: Path) -> tuple[Any, LineMap]:
    """Like :func:`load_yaml` for a document already in memory (one the central server stores);
    ``path`` is the name its errors give."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: refused before parsing starts
        raise YamlSyntaxError(path, text.count("\n", 0, exc.position) + 1, _control(exc)) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        lines = dict(_walk(node, ())) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlSyntaxError(path, line, in_spanish(str(exc.problem or exc.context))) from exc
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(path, text.count("\n", 0, exc.position) + 1, _control(exc)) from None
    except _DuplicateKey as exc:
        raise YamlSyntaxError(path, exc.line, exc.problem) from None
    except RecursionError:
        raise YamlSyntaxError(
            path, 1, "un alias apunta al ancla dentro de la que está (un documento recursivo)"
        ) from None
    finally:
        loader.dispose()
    return data, LineMap(lines)


def _control(exc: yaml.reader.ReaderError) -> str:
    return f"el carácter #x{exc.character:04x} no se permite en YAML"


# PyYAML's problems as a technician at the well reads them; one it words otherwise stays as written
_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), spanish)
    for pattern, spanish in (
        (r"expected (.+), but (?:found|got) (.+)", "se esperaba {0}, pero se encontró {1}"),
        (
            r"mapping values are not allowed here",
            "aquí no cabe un «clave: valor» (¿falta el espacio después de «:» o la sangría está corrida?)",
        ),
        (r"sequence entries are not allowed here", "aquí no cabe un elemento de lista «- » (revise la sangría)"),
        (r"could not find expected ':'", "falta el «:» de una clave"),
        (r"found character '\\t' that cannot start any token", "hay una tabulación: YAML se sangra solo con espacios"),
        (r"found character (.+) that cannot start any token", "el carácter {0} no puede empezar un valor"),
        (r"found undefined alias (.+)", "el alias {0} no está definido"),
        (r"found unexpected end of stream", "el archivo termina antes de tiempo (¿una comilla sin cerrar?)"),
        (r"found unknown escape character (.+)", "el escape {0} no existe (escriba \\\\ para una barra invertida)"),
        (r"but found another document", "hay un segundo documento (una línea ---): el archivo debe tener uno solo"),
    )
)
_TOKENS = {
    "<stream end>": "el fin del archivo",
    "<block end>": "el fin del bloque (menos sangría)",
    "<block mapping start>": "un bloque con otra sangría",
    "<block sequence start>": "una lista con otra sangría",
    "?": "una clave con otra sangría",
    "<scalar>": "un valor",
    "the node content": "un valor",
}


def in_spanish(problem: str) -> str:
    """PyYAML's English problem as a Spanish sentence, with its token names ("<stream end>") in words."""
    for pattern, spanish in _PROBLEMS:
        match = pattern.fullmatch(problem)
        if match:
            return spanish.format(*(_token(group) for group in match.groups()))
    return problem


def _token(text: str) -> str:
    return _TOKENS.get(text.strip("'"), text.replace("' or '", "' o '"))


class _DuplicateKey(Exception):
    """YAML allows a repeated key and keeps the last; a config must not silently lose one."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem


def _walk(node: yaml.Node, path: FieldPath) -> Iterator[tuple[FieldPath, int]]:
    """Yield (path, line) for ``node`` and everything under it.

    A mapping entry is placed at its value's line when the value is a scalar (where the
    mistake is) and at its key's line otherwise (where the block starts).
    """
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key, line = str(key_node.value), key_node.start_mark.line + 1
            if key in first_lines:
                raise _DuplicateKey(line, f"la clave {key!r} está repetida (la primera en la línea {first_lines[key]})")
            first_lines[key] = line
            child = (*path, key)
            yield from _walk(value_node, child)
            if not isinstance(value_node, yaml.ScalarNode):
                yield child, key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, (*path, index))
