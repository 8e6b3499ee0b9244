"""Settings precedence (CLI > env > config profile > defaults), config file, profiles."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dregtui.cli.main import parse_settings
from dregtui.ops.connect import (
    make_client,
)
from dregtui.state.config import (
    ConfigError,
    Settings,
    default_config_path,
    load_config,
    save_profile,
)


def config_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "dregtui" / "config.toml"


def write_config(text: str, path: Path | None = None) -> Path:
    path = path or config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def settings(*argv: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings([*argv, "list-repo-names"], env=env or {})[1]


def test_defaults():
    s = settings()
    assert s.registry is None and s.username is None and s.password is None
    assert s.verify is True and s.digest_auth is False and s.use_cache and s.cache is None
    assert s.jobs == 16 and s.rate is None and not s.json and not s.count
    assert default_config_path({}) == config_file()


def test_environment_variables_are_read():
    env = {
        "REGISTRY": "reg.example:5000",
        "REGISTRY_USER": "envuser",
        "REGISTRY_PASSWORD": "envpw",
        "REGISTRY_USE_DIGEST_AUTH": "yes",
        "REGISTRY_CLIENT_CERT": "/c.pem",
        "REGISTRY_CLIENT_KEY": "/k.pem",
        "REQUESTS_CA_BUNDLE": "/ca.pem",
    }
    s = settings(env=env)
    assert (s.registry, s.username, s.password) == ("reg.example:5000", "envuser", "envpw")
    assert s.digest_auth is True
    assert s.client_cert == ("/c.pem", "/k.pem")
    assert s.verify == "/ca.pem"


def test_explicit_options_beat_the_environment():
    env = {
        "REGISTRY": "env-reg",
        "REGISTRY_USER": "envuser",
        "REGISTRY_PASSWORD": "envpw",
        "REGISTRY_USE_DIGEST_AUTH": "true",
        "REQUESTS_CA_BUNDLE": "/env-ca.pem",
    }
    s = settings(
        "-reg", "cli-reg", "-u", "cliuser", "--digest-auth", "false", "-v", "None", env=env
    )
    assert s.registry == "cli-reg"
    assert s.username == "cliuser"
    assert s.password is None  # envuser's password is not sent for cliuser
    assert s.digest_auth is False
    assert s.verify is False
    s = settings("-u", "envuser", env=env)
    assert s.password == "envpw"  # same user: the env password still applies
    s = settings("-v", "/cli-ca.pem", env=env)
    assert s.verify == "/cli-ca.pem"


def test_classic_option_forms():
    s = settings("-reg=r1", "-cert", "c.pem", "-key", "k.pem", "-c", "None", "--use-get-manifest")
    assert s.registry == "r1" and s.client_cert == ("c.pem", "k.pem")
    assert s.use_cache is False and s.use_get_manifest is True
    assert settings("--digest-auth").digest_auth is True
    assert settings("--digest-auth", "1").digest_auth is True
    assert settings("--digest-auth=no").digest_auth is False
    assert settings("-c", "/tmp/x.json").cache == "/tmp/x.json"
    s = settings("-j", "4", "--rate", "2.5", "--repositories", "a, b/c,,", "--insecure")
    assert (s.jobs, s.rate, s.repositories) == (4, 2.5, ["a", "b/c"])
    assert s.effective_verify is False
    args, s = parse_settings(["-reg", "x", "list-tag-names", "a", "b"], env={})
    assert args.repo == ["a", "b"]


def test_profiles_from_the_config_file():
    write_config(
        """
default_profile = "main"

[profiles.main]
registry = "https://main.example"
username = "mainuser"
password = "never-used"
jobs = 4
repositories = ["x/y", "z"]
verify = false

[profiles.other]
registry = "https://other.example"
rate = 10

[tui]
theme = "nord"

[keymap]
"quit" = "q,ctrl+c"
"""
    )
    s = settings()
    assert s.registry == "https://main.example" and s.username == "mainuser"
    assert s.password is None  # passwords never come from the file
    assert (s.jobs, s.repositories, s.verify) == (4, ["x/y", "z"], False)
    assert s.theme == "nord" and s.keymap == {"quit": "q,ctrl+c"}
    s = settings("--profile", "other")
    assert s.registry == "https://other.example" and s.rate == 10.0 and s.jobs == 16
    # env beats the profile, CLI beats both
    assert settings(env={"REGISTRY": "env-reg"}).registry == "env-reg"
    assert settings("-reg", "cli", env={"REGISTRY": "env-reg"}).registry == "cli"
    assert settings(env={"DREGTUI_PROFILE": "other"}).registry == "https://other.example"


def test_config_path_from_env_and_option(tmp_path):
    a = write_config('[profiles.p]\nregistry = "from-env-path"\n', tmp_path / "a.toml")
    b = write_config('[profiles.p]\nregistry = "from-option"\n', tmp_path / "b.toml")
    assert settings("--profile", "p", env={"DREGTUI_CONFIG": str(a)}).registry == "from-env-path"
    assert (
        settings("--config", str(b), "--profile", "p", env={"DREGTUI_CONFIG": str(a)}).registry
        == "from-option"
    )


def test_unknown_profile_and_bad_toml_are_one_line_errors(run_cli):
    path = write_config('[profiles.a]\nregistry = "x"\n')
    result = run_cli("--profile", "nope", "list-repo-names")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "'nope'" in result.err and str(path) in result.err
    write_config('default_profile = "a"\n[profiles.a]\nregistry = "x\n')
    result = run_cli("list-repo-names")
    assert result.code == 1 and result.err.count("\n") == 1
    assert str(path) in result.err and "line 3" in result.err
    with pytest.raises(ConfigError, match="line 3"):
        load_config(path)


def test_profile_drives_the_cli(small_registry, run_cli, tmp_path):
    write_config(
        f'default_profile = "local"\n[profiles.local]\nregistry = "{small_registry.url}"\n'
    )
    result = run_cli("-c", "None", "list-repo-names")
    assert result.code == 0, result
    assert len(result.lines) == 12


def test_env_registry_and_explicit_option_wins(small_registry, run_cli):
    result = run_cli("-c", "None", "list-repo-names", env={"REGISTRY": small_registry.url})
    assert result.code == 0 and len(result.lines) == 12
    # REGISTRY points at a closed port, the explicit option at the real registry
    env = {"REGISTRY": "http://127.0.0.1:9"}
    result = run_cli("-reg", small_registry.url, "-c", "None", "list-repo-names", env=env)
    assert result.code == 0, result


def test_save_profile_is_private_atomic_and_never_stores_a_password(tmp_path):
    path = tmp_path / "cfg" / "config.toml"
    write_config('[profiles.old]\nregistry = "r0"\npassword = "hand-written"\n', path)
    s = Settings(registry="https://r1", username="me", password="topsecret", jobs=8, verify="/ca")
    save_profile("new", s, path)
    text = path.read_text()
    assert "topsecret" not in text and "hand-written" not in text and "password" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = load_config(path)
    assert doc["profiles"]["new"] == {
        "registry": "https://r1",
        "username": "me",
        "verify": "/ca",
        "jobs": 8,
    }
    assert doc["profiles"]["old"] == {"registry": "r0"}
    assert not [p for p in path.parent.iterdir() if p.name != "config.toml"]


def test_make_client_uses_the_settings(tmp_path):
    s = Settings(registry="reg.example:5000", jobs=4, use_get_manifest=True)
    with make_client(s) as c:
        assert c.base_url == "https://reg.example:5000"
        assert c.use_get_manifest is True
    with pytest.raises(ConfigError, match="-reg"):
        make_client(Settings())
    with pytest.raises(ConfigError, match="missing.pem"):
        make_client(Settings(registry="r", cert=str(tmp_path / "missing.pem")))


def test_settings_repr_hides_the_password():
    s = settings("-reg", "r", "-u", "me", "-p", "hunter2-secret")
    assert s.password == "hunter2-secret"
    assert "hunter2-secret" not in repr(s) and "***" in repr(s)


def test_paths_expand_home_and_missing_config_option_is_an_error(tmp_path, run_cli):
    write_config('[profiles.p]\ncert = "~/certs/c.pem"\nverify = "~/ca.pem"\n')
    s = settings("--profile", "p")
    home = os.environ["HOME"]
    assert s.cert == f"{home}/certs/c.pem" and s.verify == f"{home}/ca.pem"
    result = run_cli("--config", str(tmp_path / "absent.toml"), "list-repo-names")
    assert result.code == 1 and result.err.count("\n") == 1 and "absent.toml" in result.err


def test_save_profile_command_round_trip(small_registry, run_cli):
    url = small_registry.url
    result = run_cli(
        "-reg", url, "-u", "me", "-p", "pw-never-saved", "-j", "4", "save-profile", "local"
    )
    assert result.code == 0, result
    assert str(config_file()) in result.out
    assert "password was not saved" in result.err
    text = config_file().read_text()
    assert "pw-never-saved" not in text
    assert stat.S_IMODE(config_file().stat().st_mode) == 0o600
    doc = load_config(config_file())
    assert doc["default_profile"] == "local"
    assert doc["profiles"]["local"] == {"registry": url, "username": "me", "jobs": 4}
    assert run_cli("-reg", "http://127.0.0.1:9", "save-profile", "other").code == 0
    assert load_config(config_file())["default_profile"] == "local"
    # the default profile now drives a plain command (the open registry ignores the user)
    result = run_cli("-c", "None", "list-repo-names")
    assert result.code == 0, result
    assert len(result.lines) == 12
    assert run_cli("-reg", url, "save-profile", "bad name ").code == 1


def test_save_profile_stores_only_the_command_line_and_the_registry(run_cli):
    write_config(
        'default_profile = "base"\n[profiles.base]\nregistry = "https://base.example"\n'
        'username = "baseuser"\njobs = 8\nverify = "/base-ca.pem"\nrepositories = ["a", "b"]\n'
    )
    env = {
        "REQUESTS_CA_BUNDLE": "/env-ca.pem",
        "REGISTRY_USER": "envuser",
        "REGISTRY_PASSWORD": "env-secret",
        "DOCKER_UTIL_GET_MANIFEST": "1",
    }
    # the registry comes from the default profile; only -j is given on the command line
    r = run_cli("-j", "4", "save-profile", "copy", env=env)
    assert r.code == 0, r
    doc = load_config(config_file())
    assert doc["profiles"]["copy"] == {"registry": "https://base.example", "jobs": 4}
    assert "env-secret" not in config_file().read_text()
    r = run_cli(
        "-reg", "reg.example:5000", "-u", "me", "-v", "None", "--use-get-manifest",
        "--repositories", "x,y", "save-profile", "cli", env=env,
    )  # fmt: skip
    assert r.code == 0, r
    assert load_config(config_file())["profiles"]["cli"] == {
        "registry": "reg.example:5000",
        "username": "me",
        "verify": False,
        "repositories": ["x", "y"],
        "use_get_manifest": True,
    }
    assert load_config(config_file())["profiles"]["base"]["jobs"] == 8  # untouched


BAD_PROFILE_VALUES = [
    ("registry", "5", "registry"),
    ("username", "[1]", "username"),
    ("cert", "5", "cert"),
    ("key", "true", "key"),
    ("verify", "5", "verify"),
    ("repositories", "5", "repositories"),
    ("repositories", "[1, 2]", "repositories"),
    ("jobs", "0", "jobs"),
    ("jobs", "-3", "jobs"),
    ("jobs", "100000", "jobs"),
    ("jobs", "2.5", "jobs"),
    ("jobs", '"many"', "jobs"),
    ("rate", "nan", "rate"),
    ("rate", "inf", "rate"),
    ("rate", "-1", "rate"),
    ("rate", "0", "rate"),
    ("rate", "1e-300", "rate"),
    ("rate", "[1]", "rate"),
    ("timeout", "nan", "timeout"),
    ("timeout", "-inf", "timeout"),
    ("timeout", "0", "timeout"),
    ("timeout", "1e300", "timeout"),
    ("use_get_manifest", "5", "use_get_manifest"),
    ("digest_auth", '"maybe"', "digest_auth"),
]


@pytest.mark.parametrize(("key", "value", "named"), BAD_PROFILE_VALUES)
def test_bad_profile_values_are_one_sentence_naming_the_key(run_cli, tmp_path, key, value, named):
    config = tmp_path / "config.toml"
    config.write_text(f'default_profile = "p"\n[profiles.p]\n{key} = {value}\n')
    result = run_cli("--config", str(config), "-reg", "http://127.0.0.1:1", "list-repo-names")
    assert result.code == 1, result
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: error: ")
    assert "unexpected" not in result.err and named in result.err, result.err


@pytest.mark.parametrize(
    "doc",
    ['default_profile = ["a"]', "default_profile = 5", "tui = 5", "keymap = 5", "profiles = 5"],
)
def test_bad_top_level_config_values_are_one_sentence(run_cli, tmp_path, doc):
    config = tmp_path / "config.toml"
    config.write_text(doc + "\n")
    result = run_cli("--config", str(config), "-reg", "http://127.0.0.1:1", "list-repo-names")
    assert result.code == 1, result
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: error: ")
    assert "unexpected" not in result.err and doc.split()[0] in result.err, result.err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--rate", "nan"], "--rate"),
        (["--rate", "inf"], "--rate"),
        (["--rate", "-1"], "--rate"),
        (["--rate", "0"], "--rate"),
        (["--rate", "1e-300"], "--rate"),
        (["--jobs", "0"], "--jobs"),
        (["--jobs", "1e3"], "--jobs"),
        (["--jobs", "9" * 5000], "--jobs"),
        (["--jobs", "100000"], "--jobs"),
    ],
)
def test_bad_numeric_options_are_one_sentence(run_cli, argv, named):
    result = run_cli("-reg", "http://127.0.0.1:1", *argv, "list-repo-names")
    assert result.code == 1, result
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: error: ")
    assert "unexpected" not in result.err and named in result.err, result.err


@pytest.mark.parametrize("value", ["99999999999999d", "9" * 5000 + "s", "1001y", "60000w"])
def test_huge_older_than_is_one_sentence(run_cli, value):
    result = run_cli("-reg", "http://127.0.0.1:1", "query-tags", "-r", "a", "--older-than", value)
    assert result.code == 1, result
    assert result.err.count("\n") == 1 and result.err.startswith("dregtui: error: ")
    assert "unexpected" not in result.err and "--older-than" in result.err, result.err
