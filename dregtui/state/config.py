"""Settings: CLI > environment > config file profile > defaults.

The config file is TOML (``$DREGTUI_CONFIG``, else ``<user config dir>/dregtui/config.toml``)::

    default_profile = "prod"

    [profiles.prod]
    registry = "https://registry.example.com"
    username = "ops"
    verify = "/etc/ssl/internal-ca.pem"   # or true / false
    repositories = ["team/app", "team/db"] # for registries that refuse _catalog
    jobs = 8
    rate = 50.0

    [tui]
    theme = "textual-dark"

    [keymap]                               # binding id = keys (ids: see ? in the TUI)
    "app.delete" = "d,delete"
    "tags.mark" = "space,x"

Passwords are never read from nor written to the file (use ``-p``, ``REGISTRY_PASSWORD`` or the
docker credential store). Environment variables: ``REGISTRY``, ``REGISTRY_USER``,
``REGISTRY_PASSWORD``, ``REGISTRY_USE_DIGEST_AUTH``, ``REGISTRY_CLIENT_CERT``,
``REGISTRY_CLIENT_KEY``, ``REQUESTS_CA_BUNDLE`` (verify), ``DOCKER_UTIL_CACHEFILE``,
``DOCKER_UTIL_GET_MANIFEST`` (classic tool), ``DREGTUI_CONFIG``, ``DREGTUI_PROFILE``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dregtui.core.documents import loads_toml
from dregtui.state.userfiles import SETTINGS_MAX, read_user_file
from dregtui.state.userfiles import ConfigError as ConfigError
from dregtui.state.userfiles import atomic_write as atomic_write

FALSE_WORDS = frozenset({"", "false", "0", "no", "n", "off", "none"})
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
DEFAULT_JOBS = 16
MAX_JOBS = 256  # worker threads (and pooled connections) at most, whatever -j says

# Keys a profile may hold, and the Settings field each maps to.
PROFILE_KEYS = {
    "registry": "registry",
    "username": "username",
    "verify": "verify",
    "cert": "cert",
    "key": "key",
    "repositories": "repositories",
    "jobs": "jobs",
    "rate": "rate",
    "use_get_manifest": "use_get_manifest",
    "digest_auth": "digest_auth",
    "timeout": "timeout",
    "storage": "storage",
    "registry_config": "registry_config",
}
SECRET_KEYS = frozenset({"password", "secret", "token", "identitytoken", "auth"})


def truthy(value: object) -> bool:
    """The classic tool's reading of a flag value: anything but false/0/no/none/empty is true."""
    if isinstance(value, bool):
        return value
    return value is not None and str(value).strip().lower() not in FALSE_WORDS


def is_bool_word(value: str) -> bool:
    return value.strip().lower() in FALSE_WORDS | TRUE_WORDS


def parse_verify(value: object) -> bool | str:
    """``None``/``false``/... disable verification, ``true`` enables it, anything else is a CA path."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in FALSE_WORDS:
        return False
    if text.lower() in TRUE_WORDS:
        return True
    return text


def parse_repositories(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    else:
        items = list(value) if isinstance(value, list | tuple) else [value]
    return [str(item).strip() for item in items if str(item).strip()]


@dataclass
class Settings:
    """Everything a command needs to know, already merged from all sources."""

    registry: str | None = None
    username: str | None = None
    password: str | None = None
    digest_auth: bool = False
    verify: bool | str = True
    cert: str | None = None
    key: str | None = None
    cache: str | None = None  # explicit cache file; None = default location
    use_cache: bool = True  # False after ``-c None``
    refresh: bool = False
    count: bool = False
    use_get_manifest: bool = False
    log_level: str = "warning"
    json: bool = False
    jobs: int = DEFAULT_JOBS
    jobs_given: bool = False  # -j, the environment or a profile named it: it caps the scan too
    rate: float | None = None
    insecure: bool = False
    debug: bool = False
    repositories: list[str] = field(default_factory=list)
    profile: str | None = None
    dry_run: bool = False
    timeout: float = 20.0  # seconds per request, retries included
    max_cache_age: float | None = None  # seconds; an older cache is rescanned
    config_path: str | None = None
    storage: str | None = None  # the registry's storage: a directory or s3://bucket[/prefix]
    registry_config: str | None = None  # the registry's own config.yml, naming its storage
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    # Fields the user gave on the command line (set by resolve_settings; None = unknown):
    # save_profile stores only those, plus the registry.
    explicit: frozenset[str] | None = None

    @property
    def effective_verify(self) -> bool | str:
        return False if self.insecure else self.verify

    @property
    def scan_jobs(self) -> int | None:
        """The scan's cap on requests in flight: ``jobs`` when given (or set by hand to other
        than the default), else None (the scanner adapts up to its own default cap)."""
        return self.jobs if self.jobs_given or self.jobs != DEFAULT_JOBS else None

    @property
    def client_cert(self) -> str | tuple[str, str] | None:
        if self.cert and self.key:
            return (self.cert, self.key)
        return self.cert or None

    def __repr__(self) -> str:  # never print the password
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if shown.get("password"):
            shown["password"] = "***"
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


# -- config file --------------------------------------------------------------------


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("DREGTUI_CONFIG"):
        return Path(env["DREGTUI_CONFIG"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("dregtui", appauthor=False)) / "config.toml"


def load_config(
    path: str | os.PathLike[str] | None = None, *, required: bool = False
) -> dict[str, Any]:
    """The parsed config file, ``{}`` when it does not exist (a ConfigError when
    ``required``). Bad TOML, a FIFO, a device, a file over SETTINGS_MAX -> one ConfigError."""
    file = Path(path) if path is not None else default_config_path()
    data = read_user_file(file, "config file", SETTINGS_MAX)
    if data is None:
        if required:
            raise ConfigError(f"The config file {file} does not exist.")
        return {}
    try:
        doc = loads_toml(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The config file {file} is not UTF-8 text.") from exc
    except tomllib.TOMLDecodeError as exc:
        # The message already ends with "(at line N, column M)".
        raise ConfigError(f"The config file {file} is not valid TOML: {exc}.") from exc
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ConfigError(f"The config file {file}: [profiles.NAME] must be tables.")
    if not isinstance(doc.get("default_profile", ""), str):
        raise ConfigError(f"The config file {file}: default_profile must be a profile name.")
    for section in ("tui", "keymap"):
        if not isinstance(doc.get(section, {}), dict):
            raise ConfigError(f"The config file {file}: [{section}] must be a table.")
    for name, profile in profiles.items():
        for key, value in profile.items():
            if key in PROFILE_KEYS:
                _check_profile_value(key, value, f"The config file {file}, profile {name!r}")
    return doc


MAX_TIMEOUT = 3600.0  # seconds
MIN_RATE = 0.01  # requests per second
_STRINGS = ("registry", "username", "cert", "key", "storage", "registry_config")


def _check_profile_value(key: str, value: object, where: str) -> None:
    """One sentence naming the key when a profile value has the wrong type or range."""
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in _STRINGS:
        ok = isinstance(value, str)
        need = "a string"
    elif key == "verify":
        ok = isinstance(value, bool | str)
        need = "true, false or a CA bundle path"
    elif key == "repositories":
        ok = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        )
        need = "a list of repository names"
    elif key in ("use_get_manifest", "digest_auth"):
        ok = isinstance(value, bool) or (isinstance(value, str) and is_bool_word(value))
        need = "true or false"
    elif key == "jobs":
        ok = isinstance(value, int) and not isinstance(value, bool)
        need = "a whole number"
    else:  # rate, timeout
        ok = number or (isinstance(value, str) and value.strip().lower() in FALSE_WORDS)
        need = "a number"
    if not ok:
        raise ConfigError(f"{where}: {key} must be {need}, not {shown}.")
    try:
        if key == "jobs":
            _int(value, key, minimum=1)
        elif key == "rate":
            _float(value, key)
        elif key == "timeout":
            _float(value, key, maximum=MAX_TIMEOUT)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def profile_settings(
    doc: Mapping[str, Any], name: str | None, file: str = "config file"
) -> dict[str, Any]:
    """Settings fields from one profile (``name``, else ``default_profile``); {} when none."""
    profiles = doc.get("profiles", {}) or {}
    chosen = name or doc.get("default_profile")
    if not chosen:
        return {}
    if chosen not in profiles:
        if name is None:  # a stale default_profile is not fatal
            return {}
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(f"There is no profile {chosen!r} in {file} (known: {known}).")
    out: dict[str, Any] = {}
    for key, value in profiles[chosen].items():
        target = PROFILE_KEYS.get(key)
        if target is None:
            continue  # unknown keys (and any password) are ignored, never used
        out[target] = value
    return out


def save_profile(
    name: str,
    settings: Settings,
    path: str | os.PathLike[str] | None = None,
    *,
    default: bool = False,
) -> Path:
    """Write ``settings`` as ``[profiles.NAME]`` (atomic, mode 0600). Never writes a password.

    Only what the user gave on the command line (``settings.explicit``) and the registry are
    stored: values that came from the environment (``REQUESTS_CA_BUNDLE``, ``REGISTRY_USER``...)
    or from another profile stay where they are. Settings built by hand (``explicit`` None)
    store every value that differs from the defaults. The first profile saved (or any, with
    ``default=True``) becomes ``default_profile``.
    """
    import tomli_w

    file = Path(path) if path is not None else default_config_path()
    doc = load_config(file)
    profile: dict[str, Any] = {}
    defaults = Settings()
    for key, attr in PROFILE_KEYS.items():
        value = getattr(settings, attr)
        if value is None or value == getattr(defaults, attr):
            continue
        if settings.explicit is not None and attr not in settings.explicit | {"registry"}:
            continue
        profile[key] = value
    if isinstance(profile.get("registry"), str) and "@" in profile["registry"]:
        from dregtui.core.registry_url import normalize_url, split_userinfo

        # never the password of a https://user:password@host URL; its user name may stay
        url, url_user, _ = split_userinfo(normalize_url(profile["registry"]))
        profile["registry"] = url
        if url_user and "username" not in profile:
            profile["username"] = url_user
    for secret in SECRET_KEYS:
        profile.pop(secret, None)
    doc.setdefault("profiles", {})[name] = profile
    if default:
        doc["default_profile"] = name
    doc.setdefault("default_profile", name)
    for prof in doc["profiles"].values():  # strip any secret a user put there by hand
        for secret in SECRET_KEYS:
            prof.pop(secret, None)
    payload = tomli_w.dumps(doc).encode()
    atomic_write(file, payload)
    return file


# -- merging ------------------------------------------------------------------------


def env_settings(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    simple = {
        "REGISTRY": "registry",
        "REGISTRY_USER": "username",
        "REGISTRY_PASSWORD": "password",
        "REGISTRY_CLIENT_CERT": "cert",
        "REGISTRY_CLIENT_KEY": "key",
        "DOCKER_UTIL_CACHEFILE": "cache",
        "DREGTUI_STORAGE": "storage",
    }
    for var, attr in simple.items():
        if env.get(var):
            out[attr] = env[var]
    if env.get("REGISTRY_USE_DIGEST_AUTH"):
        out["digest_auth"] = truthy(env["REGISTRY_USE_DIGEST_AUTH"])
    if env.get("DOCKER_UTIL_GET_MANIFEST"):
        out["use_get_manifest"] = truthy(env["DOCKER_UTIL_GET_MANIFEST"])
    if env.get("REQUESTS_CA_BUNDLE"):
        out["verify"] = env["REQUESTS_CA_BUNDLE"]
    if env.get("DREGTUI_MAX_CACHE_AGE"):
        out["max_cache_age"] = env["DREGTUI_MAX_CACHE_AGE"]
    if env.get("DREGTUI_PROFILE"):
        out["profile"] = env["DREGTUI_PROFILE"]
    return out


def resolve_settings(
    cli: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Merge the layers. ``cli`` holds only options the user gave (None = not given)."""
    env = os.environ if env is None else env
    cli = {k: v for k, v in cli.items() if v is not None}
    from_env = env_settings(env)
    path = Path(config_path).expanduser() if config_path else default_config_path(env)
    doc = load_config(path, required=bool(config_path))
    profile_name = cli.get("profile") or from_env.get("profile")
    from_file = profile_settings(doc, profile_name, str(path))

    merged: dict[str, Any] = {}
    for layer in (from_file, from_env, cli):
        merged.update(layer)
    # Credentials belong together: a user named on a higher layer does not get the password
    # of a different user from a lower one.
    if (
        "username" in cli
        and "password" not in cli
        and from_env.get("username") not in (None, cli["username"])
    ):
        merged.pop("password", None)

    settings = Settings(
        config_path=str(path),
        profile=profile_name or doc.get("default_profile"),
        explicit=frozenset(cli),
    )
    for key, value in merged.items():
        if key == "cache":
            text = str(value)
            if text.strip().lower() in FALSE_WORDS:
                settings.use_cache = False
                settings.cache = None
            else:
                settings.cache = text
        elif key == "verify":
            settings.verify = parse_verify(value)
        elif key == "repositories":
            settings.repositories = parse_repositories(value)
        elif key in (
            "digest_auth",
            "use_get_manifest",
            "refresh",
            "count",
            "json",
            "insecure",
            "debug",
            "dry_run",
        ):
            setattr(settings, key, truthy(value))
        elif key == "jobs":
            settings.jobs = _int(value, "jobs", minimum=1)
            settings.jobs_given = True
        elif key == "rate":
            settings.rate = _float(value, "rate")
        elif key == "max_cache_age":
            from dregtui.core.selectors import SelectorError, parse_duration

            try:
                settings.max_cache_age = parse_duration(str(value)).total_seconds()
            except SelectorError as exc:
                raise ConfigError(f"--max-cache-age: {exc}.") from None
        elif key == "timeout":
            settings.timeout = _float(value, "timeout", maximum=MAX_TIMEOUT) or settings.timeout
        elif hasattr(settings, key) and key not in ("config_path", "keymap", "theme"):
            setattr(settings, key, value)
    for attr in ("cert", "key", "cache"):
        value = getattr(settings, attr)
        if isinstance(value, str) and value.startswith("~"):
            setattr(settings, attr, os.path.expanduser(value))
    if isinstance(settings.verify, str) and settings.verify.startswith("~"):
        settings.verify = os.path.expanduser(settings.verify)
    tui: dict[str, Any] = doc["tui"] if isinstance(doc.get("tui"), dict) else {}
    settings.theme = tui.get("theme") if isinstance(tui.get("theme"), str) else None
    keymap: dict[str, Any] = doc["keymap"] if isinstance(doc.get("keymap"), dict) else {}
    settings.keymap = {str(k): str(v) for k, v in keymap.items()}
    return settings


def _int(value: object, name: str, minimum: int = 0) -> int:
    try:
        number: int = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}.")
    if name == "jobs" and number > MAX_JOBS:
        raise ConfigError(f"{name} must be at most {MAX_JOBS}.")
    return number


def _float(value: object, name: str, maximum: float | None = None) -> float | None:
    if isinstance(value, str) and value.strip().lower() in FALSE_WORDS:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None
    if math.isnan(number) or math.isinf(number):
        raise ConfigError(f"{name} must be a finite number, not {value!r}.")
    if number <= 0:
        raise ConfigError(f"{name} must be greater than 0.")
    if name == "rate" and number < MIN_RATE:
        raise ConfigError(f"{name} must be at least {MIN_RATE} (requests per second).")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}.")
    return number


NO_REGISTRY = (
    "No registry given: pass -reg/--registry URL, set the REGISTRY environment variable, "
    "or choose a config file profile with --profile."
)
