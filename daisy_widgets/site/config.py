"""The site's configuration file (``site.yaml``): read, checked in full before anything starts.

Every problem is reported at once, each naming its key (``https.certificate``,
``authenticator.kind``, ...) and what was expected: :class:`SiteConfigError`.
The keys, with their meaning, are in ``hub_config/site.example.yaml`` and ``docs/deploy-site.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import DaisyError

#: authenticators a site can choose (``authenticator.kind``)
AUTHENTICATORS = ("native", "pam", "oauth")
#: keys the generic OAuth2/OIDC login needs (``authenticator.oauth.*``)
OAUTH_REQUIRED = ("client_id", "authorize_url", "token_url", "userdata_url", "callback_url")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_PREFIX = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
_TOP_KEYS = {
    "root",
    "address",
    "port",
    "hub_port",
    "proxy_api_port",
    "https",
    "authenticator",
    "users",
    "limits",
    "data",
    "data_service",
    "cull_idle_seconds",
}


class SiteConfigError(DaisyError):
    """The site configuration is invalid; ``problems`` lists ``(key, what is wrong)``."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]):
        self.path, self.problems = Path(path), problems
        lines = [f"{path}: {key}: {why}" for key, why in problems]
        super().__init__("the site configuration is refused:\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class Limits:
    """Per-user limits: ``memory`` in bytes, ``cpu`` in CPUs, ``tasks`` processes+threads (None: none)."""

    memory: int | None = None
    cpu: float | None = None
    tasks: int | None = None


@dataclass(frozen=True)
class SiteConfig:
    """A checked site configuration (``hub_config/site.example.yaml`` says what each field means)."""

    source: Path
    root: Path
    address: str = "0.0.0.0"
    port: int = 443
    hub_port: int = 8081
    proxy_api_port: int = 8001
    certificate: Path | None = None
    key: Path | None = None
    authenticator: str = "native"
    native: dict[str, Any] = field(default_factory=dict)
    pam: dict[str, Any] = field(default_factory=dict)
    oauth: dict[str, Any] = field(default_factory=dict)
    prefix: str = "daisy-"
    home_root: Path = Path("/home")
    admins: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gpu_system_group: str | None = None
    limits: Limits = Limits()
    data: Path | None = None
    data_service: bool = True
    cull_idle_seconds: int = 3600

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def venv(self) -> Path:
        """The users' Python environment (see :func:`daisy_widgets.site.install.build_user_venv`)."""
        return self.root / "venv"

    @property
    def data_dir(self) -> Path:
        return self.data or self.root / "data"

    @property
    def https(self) -> bool:
        return self.certificate is not None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("", "0.0.0.0") else self.address
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/"

    def account(self, user: str) -> str:
        """The system account of hub user ``user``."""
        return f"{self.prefix}{user}"


def parse_size(text: Any) -> int:
    """Bytes of ``"8G"``, ``"512M"``, ``"2GiB"`` or a plain number of bytes; ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " "))


class _Checker:
    """Collects ``(key, problem)`` pairs while reading a mapping."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def bad(self, key: str, why: str) -> None:
        self.problems.append((key, why))

    def mapping(self, value: Any, key: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(key, f"expected a mapping of keys, found {type(value).__name__}")
            return {}
        return value

    def integer(self, value: Any, key: str, lo: int, hi: int, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.bad(key, f"expected a whole number {lo}-{hi}, found {value!r}")
            return default
        return value

    def path(self, value: Any, key: str, base: Path, must_exist: str | None = None) -> Path | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            self.bad(key, f"expected a path, found {value!r}")
            return None
        path = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
        if must_exist == "file" and not path.is_file():
            self.bad(key, f"file {path} does not exist")
        elif must_exist == "dir" and not path.is_dir():
            self.bad(key, f"folder {path} does not exist")
        return path

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.bad(key, f"expected a list of user names, found {value!r}")
            return ()
        return tuple(value)


def _unknown(chk: _Checker, raw: dict, known: set[str], where: str = "") -> None:
    for k in sorted(set(raw) - known, key=str):
        chk.bad(f"{where}{k}", f"unknown key (expected one of: {', '.join(sorted(known))})")


def _https(chk: _Checker, raw: Any, base: Path) -> tuple[Path | None, Path | None]:
    if raw in (False, "off"):
        return None, None
    https = chk.mapping(raw, "https")
    if not https:
        chk.bad("https", "expected certificate: and key: (paths of the site's PEM files), or 'off'")
        return None, None
    _unknown(chk, https, {"certificate", "key"}, "https.")
    cert = chk.path(https.get("certificate"), "https.certificate", base, "file")
    key = chk.path(https.get("key"), "https.key", base, "file")
    for name, value in (("certificate", cert), ("key", key)):
        if value is None and not any(k == f"https.{name}" for k, _ in chk.problems):
            chk.bad(f"https.{name}", "missing: the path of the site's PEM file")
    return cert, key


def _authenticator(chk: _Checker, raw: Any, base: Path) -> tuple[str, dict, dict, dict]:
    auth = chk.mapping(raw, "authenticator")
    _unknown(chk, auth, {"kind", "native", "pam", "oauth"}, "authenticator.")
    kind = auth.get("kind", "native")
    if kind not in AUTHENTICATORS:
        chk.bad(
            "authenticator.kind",
            f"unknown authenticator {kind!r} (expected one of: {', '.join(AUTHENTICATORS)})",
        )
    native = chk.mapping(auth.get("native"), "authenticator.native")
    _unknown(chk, native, {"open_signup", "minimum_password_length"}, "authenticator.native.")
    pam = chk.mapping(auth.get("pam"), "authenticator.pam")
    _unknown(chk, pam, {"allowed_groups"}, "authenticator.pam.")
    if kind == "pam" and not chk.names(pam.get("allowed_groups"), "authenticator.pam.allowed_groups"):
        chk.bad("authenticator.pam.allowed_groups", "missing: the system groups whose members may log in")
    oauth = chk.mapping(auth.get("oauth"), "authenticator.oauth")
    if kind == "oauth":
        for k in OAUTH_REQUIRED:
            if not oauth.get(k):
                chk.bad(f"authenticator.oauth.{k}", "missing (needed by the OAuth2/OIDC login)")
        for k in ("authorize_url", "token_url", "userdata_url", "callback_url"):
            if oauth.get(k) and not str(oauth[k]).startswith("https://"):
                chk.bad(f"authenticator.oauth.{k}", f"expected an https:// address, found {oauth[k]!r}")
        if not oauth.get("client_secret_file"):
            chk.bad(
                "authenticator.oauth.client_secret_file",
                "missing: a root-only file holding the client secret",
            )
        else:
            oauth = dict(oauth)
            oauth["client_secret_file"] = chk.path(
                oauth["client_secret_file"], "authenticator.oauth.client_secret_file", base, "file"
            )
        for k in ("allowed_groups", "admin_groups"):
            if oauth.get(k) and not oauth.get("groups_claim"):
                chk.bad(
                    f"authenticator.oauth.{k}",
                    "needs authenticator.oauth.groups_claim (where the groups are)",
                )
        _unknown(
            chk,
            oauth,
            set(OAUTH_REQUIRED)
            | {
                "client_secret_file",
                "scope",
                "username_claim",
                "groups_claim",
                "allowed_groups",
                "admin_groups",
            },
            "authenticator.oauth.",
        )
    return kind, native, pam, oauth


def _limits(chk: _Checker, raw: Any) -> Limits:
    lim = chk.mapping(raw, "limits")
    _unknown(chk, lim, {"memory", "cpu", "tasks"}, "limits.")
    memory = cpu = tasks = None
    if lim.get("memory") is not None:
        try:
            memory = parse_size(lim["memory"])
            if memory < 256 * 2**20:
                chk.bad("limits.memory", f"{lim['memory']!r} is below 256M: a Jupyter server needs more")
        except ValueError:
            chk.bad("limits.memory", f"expected a size such as 8G or 512M, found {lim['memory']!r}")
    if lim.get("cpu") is not None:
        value = lim["cpu"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            chk.bad("limits.cpu", f"expected a number of CPUs > 0 (e.g. 2 or 0.5), found {value!r}")
        else:
            cpu = float(value)
    if lim.get("tasks") is not None:
        tasks = chk.integer(lim["tasks"], "limits.tasks", 64, 10**6, 0) or None
    return Limits(memory, cpu, tasks)


def check_config(raw: Any, source: Path | str = "site.yaml") -> SiteConfig:
    """The :class:`SiteConfig` of the mapping ``raw`` (relative paths are taken from the file's
    folder); :class:`SiteConfigError` with every problem found, each naming its key."""
    source = Path(source)
    base = source.resolve().parent
    chk = _Checker()
    if not isinstance(raw, dict):
        raise SiteConfigError(source, [("(top)", f"expected a mapping of keys, found {type(raw).__name__}")])
    _unknown(chk, raw, _TOP_KEYS)
    root = chk.path(raw.get("root"), "root", base)
    if root is None and not any(k == "root" for k, _ in chk.problems):
        chk.bad("root", "missing: the site folder (e.g. /srv/daisy) for the hub database, keys and logs")
    cert, key = _https(chk, raw.get("https"), base)
    kind, native, pam, oauth = _authenticator(chk, raw.get("authenticator"), base)
    users = chk.mapping(raw.get("users"), "users")
    _unknown(chk, users, {"prefix", "home_root", "admins", "groups", "gpu_system_group"}, "users.")
    prefix = users.get("prefix", "daisy-" if kind != "pam" else "")
    if prefix and not (isinstance(prefix, str) and _PREFIX.match(prefix)):
        chk.bad("users.prefix", f"expected lower-case letters, digits, - or _ (at most 16), found {prefix!r}")
    if kind == "pam" and prefix:
        chk.bad(
            "users.prefix",
            "must be empty with authenticator.kind pam (PAM logs in the system accounts as they are)",
        )
    groups_raw = chk.mapping(users.get("groups"), "users.groups")
    groups = {str(g): chk.names(members, f"users.groups.{g}") for g, members in groups_raw.items()}
    data = chk.path(raw.get("data"), "data", base, "dir")
    data_service = raw.get("data_service", True)
    if not isinstance(data_service, bool):
        chk.bad("data_service", f"expected true or false, found {data_service!r}")
    config = SiteConfig(
        source=source,
        root=root or Path("/nonexistent"),
        address=str(raw.get("address", "0.0.0.0")),
        port=chk.integer(raw.get("port"), "port", 1, 65535, 443 if cert else 8000),
        hub_port=chk.integer(raw.get("hub_port"), "hub_port", 1, 65535, 8081),
        proxy_api_port=chk.integer(raw.get("proxy_api_port"), "proxy_api_port", 1, 65535, 8001),
        certificate=cert,
        key=key,
        authenticator=kind,
        native=native,
        pam=pam,
        oauth=oauth,
        prefix=prefix if isinstance(prefix, str) else "",
        home_root=chk.path(users.get("home_root"), "users.home_root", base) or Path("/home"),
        admins=chk.names(users.get("admins"), "users.admins"),
        groups=groups,
        gpu_system_group=users.get("gpu_system_group"),
        limits=_limits(chk, raw.get("limits")),
        data=data,
        data_service=bool(data_service),
        cull_idle_seconds=chk.integer(raw.get("cull_idle_seconds"), "cull_idle_seconds", 0, 10**7, 3600),
    )
    if len({config.port, config.hub_port, config.proxy_api_port}) < 3:
        chk.bad("port", "port, hub_port and proxy_api_port must differ")
    if chk.problems:
        raise SiteConfigError(source, chk.problems)
    return config


def load_config(path: Path | str) -> SiteConfig:
    """Read and check ``path`` (YAML); :class:`SiteConfigError` naming the file and each bad key."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SiteConfigError(path, [("(file)", f"cannot be read: {exc.strerror or exc}")]) from None
    except yaml.YAMLError as exc:
        raise SiteConfigError(path, [("(file)", f"is not valid YAML: {exc}")]) from None
    return check_config(raw, path)
