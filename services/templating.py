"""The one place templates are rendered: a Jinja2 sandbox, a jailed loader, per-file-type escaping.

Templates are not all ours: `/os-audit` loads the OS repository's `templates/client_os/` first,
and files reach the OS through approved proposals written by a model reading transcripts. So every
template root renders in `ImmutableSandboxedEnvironment`: an unsafe access
(`cycler.__init__.__globals__...`) renders as an inert marker and runs nothing, loaded files must be
real files inside their root (no symlinks), and a few operators are capped so a template cannot
exhaust memory. Values that land in generated scripts, env and config files go through the filters
below: one line, escaped for that file type.
"""

from __future__ import annotations

import json
import logging
import operator
import os
import shlex
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services.errors import UserFacingError

log = logging.getLogger(__name__)

BLOCKED = "[unsafe template expression removed]"
MAX_RESULT_CHARS = 1_000_000  # `*` and `**` in a template cannot build anything larger
CONFIG_FILENAMES = frozenset({"fathom-os.yml", "fathom-os.yaml"})
TEMPLATE_DIR = "templates"


class TemplateRenderError(UserFacingError):
    """A template could not be rendered (syntax, missing variable, refused operation)."""


def steers_the_bot(path: str) -> str | None:
    """What an OS path controls beyond content, or None: templates are rendered by the bot and
    `fathom-os.yml` names its approvers, so a change there needs its own explicit approval."""
    parts = PurePosixPath(path.strip().lstrip("/")).parts
    if not parts:
        return None
    if len(parts) == 1 and parts[0].casefold() in CONFIG_FILENAMES:
        return "configuration"
    if parts[0].casefold() == TEMPLATE_DIR and len(parts) > 1:
        return "template"
    return None


# -- escaping ---------------------------------------------------------------------------------


def oneline(value: Any) -> str:
    """One line of printable text: control and format characters dropped, whitespace collapsed
    (str.split also breaks on \\r, \\v, \\f, \\x1c-\\x1f, \\x85, \\u2028 and \\u2029)."""
    text = "" if value is None else str(value)
    kept = "".join(
        " " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _DROP
    )
    return " ".join(kept.split())


_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_ENV_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@,+-")


def env_value(value: Any) -> str:
    """A value for a `.env` file that is both `source`d by a POSIX shell and read by dotenv parsers:
    bare when it is plain, otherwise single-quoted (no expansion in either) with quotes dropped."""
    text = oneline(value)
    if text and set(text) <= _ENV_BARE:
        return text
    return "'" + text.replace("'", "’") + "'"


def shell(value: Any) -> str:
    """One shell word (`shlex.quote`) of a single-line value."""
    return shlex.quote(oneline(value))


def json_str(value: Any) -> str:
    """A JSON (and so YAML double-quoted) string literal of a single-line value."""
    return json.dumps(oneline(value), ensure_ascii=False)


def yaml_str(value: Any) -> str:
    """A YAML scalar: `null` for None, otherwise a double-quoted single-line string."""
    return "null" if value is None else json_str(value)


def py_str(value: Any) -> str:
    """A Python string literal of a single-line value (repr escapes anything left)."""
    return repr(oneline(value))


def comment(value: Any) -> str:
    """Text for a `#` comment line in a script, env or YAML file: one line, nothing after it."""
    return oneline(value)


FILTERS: dict[str, Callable[..., Any]] = {
    "oneline": oneline,
    "comment": comment,
    "env": env_value,
    "shell": shell,
    "json": json_str,
    "yaml": yaml_str,
    "pystr": py_str,
}


# -- the environment --------------------------------------------------------------------------


class _Blocked(jinja2.Undefined):
    """What an unsafe attribute becomes: every further access, call or item is the same inert
    marker, so a payload chain renders as text instead of failing halfway or running anything."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __str__(self) -> str:
        return BLOCKED


def _capped(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(left: Any, right: Any) -> Any:
        if op is operator.pow and isinstance(right, int) and abs(right) > 64:
            raise jinja2.exceptions.SecurityError("exponent too large in a template")
        if op is operator.mul:
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > MAX_RESULT_CHARS
                ):
                    raise jinja2.exceptions.SecurityError("repetition too large in a template")
        return op(left, right)

    return run


class SandboxedTemplates(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})
    default_binop_table = {
        **ImmutableSandboxedEnvironment.default_binop_table,
        "*": _capped(operator.mul),
        "**": _capped(operator.pow),
    }

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        log.warning(
            "template tried unsafe access to %r of a %s; rendered inert", attribute, type(obj).__name__
        )
        return _Blocked(name=attribute, obj=obj)


class JailedLoader(jinja2.FileSystemLoader):
    """A file-system loader that serves only regular files inside its root (symlinks refused)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        base = Path(self.searchpath[0])
        current = base
        for part in Path(os.path.relpath(filename, base)).parts:
            current = current / part
            if current.is_symlink():
                raise jinja2.TemplateNotFound(template, f"{template} is a symbolic link")
        if not Path(filename).resolve().is_relative_to(base.resolve()):
            raise jinja2.TemplateNotFound(template, f"{template} is outside the template folder")
        return source, filename, uptodate


def environment(
    roots: Sequence[Path], filters: Mapping[str, Callable[..., Any]] | None = None
) -> SandboxedTemplates:
    """A sandboxed environment over `roots` (first match wins), StrictUndefined for missing
    variables, no HTML autoescape (the output is Markdown, Python, CSV, YAML and env files)."""
    env = SandboxedTemplates(
        loader=jinja2.ChoiceLoader([JailedLoader(str(root)) for root in roots]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(filters or {})
    return env


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any], *, where: str = "") -> str:
    """Render one template; any Jinja error becomes a `TemplateRenderError` naming the file."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateRenderError(
            f"template {where}{name} needs {exc.name}, which is missing, a symbolic link or outside "
            "the template folder"
        ) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateRenderError(f"template {where}{name} line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(f"template {where}{name} could not be rendered: {exc}") from exc
    except (ArithmeticError, RecursionError, MemoryError) as exc:
        raise TemplateRenderError(
            f"template {where}{name} could not be rendered: {type(exc).__name__}"
        ) from exc


__all__ = [
    "BLOCKED",
    "FILTERS",
    "SandboxedTemplates",
    "TemplateRenderError",
    "comment",
    "env_value",
    "environment",
    "json_str",
    "oneline",
    "py_str",
    "render",
    "shell",
    "steers_the_bot",
    "yaml_str",
]
