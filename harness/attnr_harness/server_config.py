"""The server's text-format config (attnr.v1.ServerConfig) read, changed
and written by the bench and training scripts, so that every derived config
(a sweep's, a probe's) is the shipped one with named settings changed.

    cfg = server_config.load("config/server.textproto")
    cfg.get("views.dense.model")                # "all-minilm-l6-v2"
    cfg.set("views.llm.budget_tokens", 2048)
    cfg.set("views.default_views", [Enum("SCORING_VIEW_LEXICAL")])
    cfg.remove("views.fusion.model")
    path = cfg.write()                          # a temporary file

Paths the server reads relative to the config file's folder are made
absolute on load, so a derived config may live anywhere. Comments are not
kept. Only the text format's subset the shipped config uses is read:
`name: value`, `name { ... }`, `#` comments; repeated fields repeat.
"""

import json
import os
import re
import tempfile

# Settings holding a path the server resolves against the config's folder
# (a model name without '/' is the model cache's and stays as it is).
_RELATIVE_PATHS = ("views.fusion.model", "views.llm.readout",
                   "transport.auth.tokens_file", "transport.tls.cert_file",
                   "transport.tls.key_file", "transport.tls.client_ca_file")
_MODEL_PATHS = ("views.dense.model", "views.llm.model")

_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|[{}:\[\],]|[^\s{}:\[\],#"]+')


class Enum(str):
    """An enum value, written without quotes (SCORING_VIEW_DENSE)."""


def _tokens(text):
    for m in _TOKEN.finditer(text):
        t = m.group(0)
        if not t.strip() or t.startswith("#"):
            continue
        yield t


def _scalar(token):
    if token.startswith('"'):
        return json.loads(token)
    if token in ("true", "false"):
        return token == "true"
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token)
    except ValueError:
        return Enum(token)


def _parse(tokens, closing=None):
    """[(name, value)] up to `closing`; a message's value is such a list."""
    fields = []
    for name in tokens:
        if name == closing:
            return fields
        t = next(tokens)
        if t == ":":
            t = next(tokens)
        if t == "{":
            fields.append((name, _parse(tokens, "}")))
        elif t == "[":
            for v in tokens:
                if v == "]":
                    break
                if v != ",":
                    fields.append((name, _scalar(v)))
        else:
            fields.append((name, _scalar(t)))
    if closing is not None:
        raise ValueError(f"config: missing '{closing}'")
    return fields


def _format(value):
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


class ServerConfig:
    def __init__(self, fields):
        self.fields = fields

    def _group(self, parts, create):
        fields = self.fields
        for part in parts:
            found = next((v for n, v in fields if n == part), None)
            if found is None:
                if not create:
                    return None
                found = []
                fields.append((part, found))
            fields = found
        return fields

    def get_all(self, path):
        *group, name = path.split(".")
        fields = self._group(group, create=False) or []
        return [v for n, v in fields if n == name]

    def get(self, path, default=None):
        values = self.get_all(path)
        return values[0] if values else default

    def remove(self, path):
        *group, name = path.split(".")
        fields = self._group(group, create=False)
        if fields is not None:
            fields[:] = [(n, v) for n, v in fields if n != name]
        return self

    def set(self, path, value):
        """Replaces every value of `path`; a list sets a repeated field, a
        dict a map field ({key: value} entries)."""
        self.remove(path)
        *group, name = path.split(".")
        fields = self._group(group, create=True)
        if isinstance(value, dict):
            value = [[("key", k), ("value", v)] for k, v in value.items()]
        for v in value if isinstance(value, list) else [value]:
            fields.append((name, v))
        return self

    def put(self, path, key, value):
        """Sets one entry of a map field, the others kept."""
        entries = [e for e in self.get_all(path)
                   if dict(e).get("key") != key]
        entries.append([("key", key), ("value", value)])
        self.remove(path)
        *group, name = path.split(".")
        fields = self._group(group, create=True)
        fields += [(name, e) for e in entries]
        return self

    def dumps(self):
        lines = []

        def emit(fields, indent):
            for name, value in fields:
                if isinstance(value, list):
                    lines.append(f"{indent}{name} {{")
                    emit(value, indent + "  ")
                    lines.append(f"{indent}}}")
                else:
                    lines.append(f"{indent}{name}: {_format(value)}")

        emit(self.fields, "")
        return "\n".join(lines) + "\n"

    def write(self, path=None):
        """Writes the config (to a new temporary file when no path is
        given) and returns its path."""
        if path is None:
            fd, path = tempfile.mkstemp(prefix="attnr-", suffix=".textproto")
            os.close(fd)
        with open(path, "w") as f:
            f.write(self.dumps())
        return path


def loads(text, config_dir="."):
    cfg = ServerConfig(_parse(_tokens(text)))
    for path in _RELATIVE_PATHS + _MODEL_PATHS:
        value = cfg.get(path)
        if not value or os.path.isabs(value):
            continue
        if path in _MODEL_PATHS and "/" not in value:
            continue
        cfg.set(path, os.path.normpath(os.path.join(config_dir, value)))
    return cfg


def load(path):
    with open(path) as f:
        return loads(f.read(), os.path.dirname(os.path.abspath(path)))


def model_path(cfg, path):
    """A model setting as the server resolves it: a name without '/' is a
    folder of the model cache; None if unset."""
    name = cfg.get(path)
    if not name:
        return None
    if "/" not in name:
        return os.path.join(os.environ.get("ATTNR_MODEL_CACHE") or
                            os.path.expanduser("~/.cache/attnr/models"), name)
    return name
