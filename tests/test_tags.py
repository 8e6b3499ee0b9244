"""Tag anatomy and the one tag order (dregtui/core/tags.py), and how version selectors agree with it.

The table pins what the parser says for tags written from the tag schemes of well-known public
images; the properties (hypothesis) build tags from the grammar of the module docstring
(``[v] RELEASE [PRE] [BUILD] [-VARIANT]``) and from arbitrary OCI tag strings.
Selectors are parsed and applied as the CLI does (:meth:`Selection.from_args` + ``select``)
and as the TUI does (:func:`parse_filter`).
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from dregtui.core.inventory import Inventory, TagInfo
from dregtui.core.selection import Selection
from dregtui.core.selectors import SelectorError
from dregtui.core.tag_filter import parse_filter
from dregtui.core.tags import (
    TagParts,
    natural_key,
    parse_tag,
    parse_version,
    sort_key,
    sort_tags,
    variant_sort_key,
)

HEX64 = "0123456789abcdef" * 4
OCI_TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
BOUNDED = settings(max_examples=150, deadline=None)


class Case(NamedTuple):
    """One corpus tag: ``version`` is the PEP 440 string (None: a plain name)."""

    tag: str
    version: str | None
    variant: str = ""
    build: str = ""


def plain(tag: str) -> Case:
    return Case(tag, None)


CORPUS: list[Case] = [
    # nginx
    Case("1.25.3", "1.25.3"),
    Case("1.25.3-alpine", "1.25.3", "alpine"),
    Case("1.25-alpine3.19", "1.25", "alpine3.19"),
    Case("1.25.3-alpine-slim", "1.25.3", "alpine-slim"),
    Case("1.25.3-perl", "1.25.3", "perl"),
    Case("1.25-bookworm", "1.25", "bookworm"),
    Case("1.25.3-alpine3.18-perl", "1.25.3", "alpine3.18-perl"),
    Case("1.25", "1.25"),
    Case("1", "1"),
    Case("1-alpine", "1", "alpine"),
    Case("1.24.0-bullseye", "1.24.0", "bullseye"),
    plain("mainline"),
    plain("mainline-alpine"),
    plain("mainline-alpine-slim"),
    plain("stable"),
    plain("stable-alpine"),
    plain("stable-perl"),
    plain("alpine-slim"),
    plain("perl"),
    plain("latest"),
    # python
    Case("3.12.1", "3.12.1"),
    Case("3.12.1-slim-bookworm", "3.12.1", "slim-bookworm"),
    Case("3.12-slim", "3.12", "slim"),
    Case("3.12-alpine3.19", "3.12", "alpine3.19"),
    Case("3.13.0rc1", "3.13.0rc1"),
    Case("3.13.0rc1-slim", "3.13.0rc1", "slim"),
    Case("3.13.0a4-windowsservercore-ltsc2022", "3.13.0a4", "windowsservercore-ltsc2022"),
    Case("3.13.0b2-bookworm", "3.13.0b2", "bookworm"),
    Case("3.11.7-bullseye", "3.11.7", "bullseye"),
    Case("3.12.1-nanoserver-1809", "3.12.1", "nanoserver-1809"),
    Case("2.7.18-buster", "2.7.18", "buster"),
    Case("3-slim", "3", "slim"),
    Case("3", "3"),
    plain("slim"),
    plain("slim-bookworm"),
    plain("alpine3.19"),
    plain("windowsservercore"),
    # node
    Case("20.11.0-bookworm-slim", "20.11.0", "bookworm-slim"),
    Case("20.11.0", "20.11.0"),
    Case("20-alpine", "20", "alpine"),
    Case("21.6.1-alpine3.19", "21.6.1", "alpine3.19"),
    Case("20.11-alpine3.18", "20.11", "alpine3.18"),
    plain("lts-alpine"),
    plain("lts"),
    plain("current-slim"),
    plain("hydrogen-alpine"),
    plain("iron-bookworm-slim"),
    # golang
    Case("1.22rc2-bookworm", "1.22rc2", "bookworm"),
    Case("1.22rc2", "1.22rc2"),
    Case("1.22rc1-alpine3.19", "1.22rc1", "alpine3.19"),
    Case("1.21.6-alpine3.19", "1.21.6", "alpine3.19"),
    Case("1.22-windowsservercore-ltsc2022", "1.22", "windowsservercore-ltsc2022"),
    Case("1.21.6-nanoserver-1809", "1.21.6", "nanoserver-1809"),
    Case("1.21", "1.21"),
    # postgres
    Case("16.1-bookworm", "16.1", "bookworm"),
    Case("16-alpine", "16", "alpine"),
    Case("16.1", "16.1"),
    Case("15.5-alpine3.19", "15.5", "alpine3.19"),
    Case("12", "12"),
    Case("17beta1", "17b1"),
    Case("17beta1-bookworm", "17b1", "bookworm"),
    # redis
    Case("7.2.4", "7.2.4"),
    Case("7.2-alpine", "7.2", "alpine"),
    Case("7-bookworm", "7", "bookworm"),
    Case("7.2.4-alpine3.19", "7.2.4", "alpine3.19"),
    Case("7.4-rc2", "7.4rc2"),
    Case("7.4-rc2-alpine", "7.4rc2", "alpine"),
    Case("6.2.14-bookworm", "6.2.14", "bookworm"),
    # ubuntu: a stream name followed by a date is a plain name
    plain("jammy-20231128"),
    plain("focal-20240123"),
    plain("jammy"),
    plain("noble"),
    plain("rolling"),
    plain("devel"),
    Case("22.04", "22.4"),
    Case("24.04", "24.4"),
    Case("20.04", "20.4"),
    # debian
    plain("bookworm-20240110-slim"),
    plain("bookworm-slim"),
    plain("bookworm"),
    plain("unstable-20240110"),
    plain("trixie"),
    plain("stable-slim"),
    plain("bookworm-backports"),
    Case("12.4", "12.4"),
    Case("12.4-slim", "12.4", "slim"),
    # eclipse-temurin: `_12` is the build
    Case("21.0.1_12-jdk-jammy", "21.0.1", "jdk-jammy", "12"),
    Case("17.0.9_9-jre-jammy", "17.0.9", "jre-jammy", "9"),
    Case("11.0.21_9-jdk-focal", "11.0.21", "jdk-focal", "9"),
    Case(
        "21.0.1_12-jdk-windowsservercore-ltsc2022",
        "21.0.1",
        "jdk-windowsservercore-ltsc2022",
        "12",
    ),
    Case("21.0.2_13-jdk-ubi9-minimal", "21.0.2", "jdk-ubi9-minimal", "13"),
    Case("21-jdk", "21", "jdk"),
    Case("21-jre-alpine", "21", "jre-alpine"),
    plain("8u392-b08-jdk-jammy"),  # Java 8's `8u392` is not a release
    # traefik
    Case("v2.10.7", "2.10.7"),
    Case("v2.10", "2.10"),
    Case("v3.0", "3.0"),
    Case("v3.0.0-rc1", "3.0.0rc1"),
    Case("v3.0.0-beta5", "3.0.0b5"),
    Case("2.10.7-windowsservercore-1809", "2.10.7", "windowsservercore-1809"),
    plain("mimolette"),
    # helm charts pushed as OCI artifacts: SemVer's `+` spelled `_`
    Case("1.4.0_build.7", "1.4.0", "", "build.7"),
    Case("0.1.0_build.12", "0.1.0", "", "build.12"),
    # alpine
    Case("3.19.0", "3.19.0"),
    Case("3.19", "3.19"),
    Case("20231219", "20231219"),
    plain("edge"),
    # grafana
    Case("10.2.3", "10.2.3"),
    Case("10.2.3-ubuntu", "10.2.3", "ubuntu"),
    Case("10.3.0-ubuntu", "10.3.0", "ubuntu"),
    plain("main"),
    plain("main-ubuntu"),
    plain("11.0.0-166000pre"),  # `pre` after a number fits no part of the grammar
    # calendar versions
    Case("2024.01.15", "2024.1.15"),
    Case("2023.12", "2023.12"),
    Case("2024.1.5", "2024.1.5"),
    Case("2023.3.20240117.0", "2023.3.20240117.0"),  # amazonlinux
    Case("20240115-3f2a9c1", "20240115", "", "3f2a9c1"),
    plain("2024-01-15"),  # `-15` is no variant (variants start with a letter)
    # CI tags
    plain("main-3f2a9c1"),
    plain("pr-1234"),
    plain("pr-9"),
    plain(f"sha256-{HEX64}.sig"),
    plain(f"sha256-{HEX64}.att"),
    plain(f"sha256-{HEX64}.sbom"),
    plain("sha-3f2a9c1"),
    plain("3f2a9c1"),
    plain("nightly"),
    plain("nightly-2024.01.15"),
    plain("feature-login-page"),
    plain("RELEASE.2024-01-16T16-07-38Z"),  # minio
    # pre-releases
    Case("v2.1.0-rc.1", "2.1.0rc1"),
    Case("1.0.0-beta2", "1.0.0b2"),
    Case("1.0.0-alpha", "1.0.0a0"),
    Case("1.0.0-alpha.1", "1.0.0a1"),
    Case("1.0.0-alpha-1", "1.0.0a1"),
    Case("1.0.0-beta.11", "1.0.0b11"),
    Case("1.0.0-rc.1", "1.0.0rc1"),
    Case("1.0.0-RC6", "1.0.0rc6"),
    Case("v1.0.0-Beta.3", "1.0.0b3"),
    Case("2.0-preview3", "2.0rc3"),
    Case("1.0-pre", "1.0rc0"),
    Case("1.0.0-dev", "1.0.0.dev0"),
    Case("1.0.0.dev3", "1.0.0.dev3"),
    Case("1.0a2", "1.0a2"),
    Case("1.0b1", "1.0b1"),
    Case("1.0c1", "1.0rc1"),
    Case("5.0-beta1", "5.0b1"),  # cassandra
    Case("8.0.100-preview.7-bookworm-slim", "8.0.100rc7", "bookworm-slim"),  # dotnet sdk
    Case("5.0.0-rc.2-alpine3.19", "5.0.0rc2", "alpine3.19"),
    Case("3.4.0-preview1-bookworm", "3.4.0rc1", "bookworm"),  # ruby
    Case("25.0.0-rc.3-dind", "25.0.0rc3", "dind"),  # docker
    # a word counts only where it ends; an unparsable rest is a variant
    Case("1.0-devel", "1.0", "devel"),
    Case("1.0-alpha.beta", "1.0", "alpha.beta"),
    # builds
    Case("0.0.10-build10", "0.0.10", "", "build10"),
    Case("1.0.0-build.10", "1.0.0", "", "build.10"),
    Case("3.5.10-0", "3.5.10", "", "0"),  # etcd
    Case("3.5.10-1-alpine", "3.5.10", "alpine", "1"),
    Case("20240115-3f2a9c1-alpine", "20240115", "alpine", "3f2a9c1"),
    Case("1.0-rc1-3f2a9c1", "1.0rc1", "", "3f2a9c1"),
    Case("2.0.0-rc.1_build.7", "2.0.0rc1", "", "build.7"),
    Case("8.9-1107", "8.9", "", "1107"),  # redhat ubi
    Case("9.3-1552", "9.3", "", "1552"),
    Case("1.0-defaced", "1.0", "", "defaced"),  # 7 hex digits: a commit id, not a variant
    Case("1.0-abcdefg", "1.0", "abcdefg"),  # `g` is no hex digit
    Case("1.25.3-debian-11-r0", "1.25.3", "debian-11-r0"),  # bitnami
    # windows
    plain("ltsc2022"),
    plain("ltsc2019"),
    Case("6.0-windowsservercore-ltsc2022", "6.0", "windowsservercore-ltsc2022"),
    Case("8.0-nanoserver-ltsc2022", "8.0", "nanoserver-ltsc2022"),
    Case("6.0.25-nanoserver-1809", "6.0.25", "nanoserver-1809"),
    Case("1809", "1809"),
    Case("10.0.20348.2227", "10.0.20348.2227"),
    # more official images
    Case("8.0.35-oracle", "8.0.35", "oracle"),  # mysql
    Case("8.0-debian", "8.0", "debian"),
    Case("7.0.5-jammy", "7.0.5", "jammy"),  # mongo
    Case("1.36.1-musl", "1.36.1", "musl"),  # busybox
    plain("stable-uclibc"),
    Case("3.12.12-management-alpine", "3.12.12", "management-alpine"),  # rabbitmq
    Case("3-management", "3", "management"),
    Case("2.440-jdk17", "2.440", "jdk17"),  # jenkins
    Case("2.426.3-lts-jdk17", "2.426.3", "lts-jdk17"),
    plain("lts-jdk17"),
    Case("12.3.1-cudnn9-devel-ubuntu22.04", "12.3.1", "cudnn9-devel-ubuntu22.04"),  # nvidia/cuda
    Case("2.1.2-cuda12.1-cudnn8-runtime", "2.1.2", "cuda12.1-cudnn8-runtime"),  # pytorch
    Case("8.3.2-fpm-alpine3.19", "8.3.2", "fpm-alpine3.19"),  # php
    Case("6.4.2-php8.2-apache", "6.4.2", "php8.2-apache"),  # wordpress
    plain("php8.2-fpm"),
    plain("beta-6.5-beta1-php8.2"),
    plain("alpine-v16.8.0"),  # gitlab-runner
    Case("16.8.1-ce.0", "16.8.1", "ce.0"),  # gitlab-ce
    Case("10.3.0-community", "10.3.0", "community"),  # sonarqube
    Case("v0.20.0-debug", "0.20.0", "debug"),  # kaniko
    plain("debug-nonroot"),  # distroless
    Case("3.9", "3.9"),  # pause
    Case("22-ea-29-jdk-slim", "22", "ea-29-jdk-slim"),  # openjdk early access
    Case("1.75.0-slim-bookworm", "1.75.0", "slim-bookworm"),  # rust
    Case("26.2.1.0-alpine", "26.2.1.0", "alpine"),  # erlang
    Case("1.16.0-otp-26-alpine", "1.16.0", "otp-26-alpine"),  # elixir
    Case("8.0.1-jammy-chiseled", "8.0.1", "jammy-chiseled"),  # dotnet
    Case("10.1.18-jdk21-temurin-jammy", "10.1.18", "jdk21-temurin-jammy"),  # tomcat
    Case("3.9.6-eclipse-temurin-21", "3.9.6", "eclipse-temurin-21"),  # maven
    plain("temurin-21-lein-2.11.2-jammy"),  # clojure
    plain("enterprise-7.2.4"),  # couchbase
    plain("base-20240101.0.204074"),  # archlinux
    plain("rawhide"),  # fedora
    Case("39", "39"),
    Case("1.2.3-linux_amd64", "1.2.3", "linux_amd64"),
    # edges of the grammar
    plain("1.0."),  # not a release
    plain("1.0--alpine"),  # the variant must start with a letter
    plain("v"),
    Case("V1.2", "1.2"),
    Case("1.2.3.4", "1.2.3.4"),
    Case("007", "7"),
]


def test_corpus_is_large_and_unique():
    assert len(CORPUS) >= 150
    assert len({c.tag for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.tag[:40] for c in CORPUS])
def test_corpus(case: Case):
    parts = parse_tag(case.tag)
    assert isinstance(parts, TagParts) and parts.tag == case.tag
    if case.version is None:
        assert parts == TagParts(case.tag), "a plain name has no parts"
        assert not parts.is_version and parse_version(case.tag) is None
        return
    assert parts.is_version
    assert parts.version == Version(case.version)
    assert str(parts.version) == case.version  # the PEP 440 (normalised) spelling
    assert parse_version(case.tag) == parts.version
    assert parts.variant == case.variant
    assert parts.build == case.build
    # the release is written as in the tag, after an optional v
    assert case.tag.removeprefix("v").removeprefix("V").startswith(parts.release)


def test_corpus_parts_are_read_as_written():
    assert parse_tag("3.13.0rc1-slim") == TagParts(
        "3.13.0rc1-slim", Version("3.13.0rc1"), "3.13.0", "rc1", "", "slim"
    )
    assert parse_tag("v1.0.0-Beta.3").pre == "Beta3"
    assert parse_tag("24.04").release == "24.04"
    assert parse_tag("1.25.3-Alpine").variant == "Alpine"  # kept as written
    assert parse_tag("v1.2").version == parse_tag("1.2").version == parse_tag("1.2.0").version


# -- the order: examples -----------------------------------------------------------------------


def test_order_of_the_docstring():
    expected = [
        "1.25.3",
        "v1.25.3",  # one version with 1.25.3: the tag breaks the tie
        "1.25.3_2",  # builds after the variant, in natural order
        "1.25.3_10",
        "1.25.3-alpine",  # no variant first, then variants in natural order
        "1.25.3_1-alpine",
        "1.25.3-alpine3.19",
        "1.26.0-dev",  # pre-releases before their release (PEP 440: dev < rc)
        "1.26.0-rc.1",
        "1.26.0",
        "2024.01.15",
        "jammy-20231128",  # plain names after every version, in natural order
        "latest",
        "pr-9",
        "pr-10",
        "Stable",
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sort_tags(shuffled) == expected
    assert sort_tags(shuffled, reverse=True) == expected[::-1]


def test_order_of_real_repositories():
    nginx = [
        "1.24.0-bullseye",
        "1.25",
        "1.25-alpine3.19",
        "1.25-bookworm",
        "1.25.3",
        "1.25.3-alpine",
        "1.25.3-alpine3.18-perl",  # natural order: the text run `alpine` before `alpine-slim`
        "1.25.3-alpine-slim",
        "1.25.3-perl",
        "1.26.0-rc.1",
        "alpine-slim",
        "latest",
        "mainline",
        "mainline-alpine",
        "stable",
    ]
    assert sort_tags(reversed(nginx)) == nginx
    python = ["3.12.1", "3.12.1-slim-bookworm", "3.13.0a4", "3.13.0b2", "3.13.0rc1", "3.13.0"]
    assert sort_tags(reversed(python)) == python
    temurin = ["21.0.1_9-jdk", "21.0.1_12-jdk", "21.0.1_9-jdk-jammy", "21.0.2_13-jdk"]
    assert sort_tags(reversed(temurin)) == temurin
    # calendar versions compare as numbers; a stream name plus date is natural order
    ubuntu = ["20.04", "22.04", "22.10", "24.04", "focal-20240123", "jammy-9", "jammy-20231128"]
    assert sort_tags(reversed(ubuntu)) == ubuntu


def test_variant_sort_key_groups_by_variant():
    tags = ["latest", "1.26.0-alpine", "1.25.3", "1.26.0", "1.25.3-alpine", "1.25-slim", "pr-1"]
    assert sorted(tags, key=variant_sort_key) == [
        "1.25.3",
        "1.26.0",
        "1.25.3-alpine",
        "1.26.0-alpine",
        "1.25-slim",
        "latest",
        "pr-1",
    ]


def test_natural_key():
    assert natural_key("pr-10") == ("pr-", 10, "")
    assert natural_key("PR-9") == natural_key("pr-9") < natural_key("pr-10")
    assert natural_key("alpine3.19") < natural_key("alpine3.20") < natural_key("alpine10")
    assert natural_key("") == ("",)


# -- selectors on real tags --------------------------------------------------------------------


def selected(tags: list[str], *selectors: str, variants: tuple[str, ...] = ()) -> list[str]:
    """What ``query-tags -r app -t SEL... [--variant V...]`` selects (each tag its own image)."""
    inv = Inventory("http://registry.test")
    inv.set_repository("app", {t: TagInfo(f"sha256:{i:064x}") for i, t in enumerate(tags)})
    s = Selection.from_args(repositories=["app"], tags=selectors, variants=variants)
    return s.select(inv).get("app", [])


NGINX = [
    "1.24.0",
    "1.25.0-rc.1",
    "1.25.3",
    "v1.25.3-alpine",
    "1.25.3-alpine3.19",
    "1.26.0-rc.1",
    "1.26.0-rc.1-alpine",
    "1.26.0",
    "1.26.0-alpine",
    "latest",
    "stable",
    "mainline-alpine",
    "pr-1234",
    f"sha256-{HEX64}.sig",
]


def test_selectors_compare_the_version_part():
    assert selected(NGINX, "<1.26") == [
        "1.24.0",
        "1.25.0-rc.1",  # pre-releases are candidates...
        "1.25.3",
        "v1.25.3-alpine",  # ...and every variant is
        "1.25.3-alpine3.19",
    ]  # ...but not a pre-release of 1.26 itself
    assert selected(NGINX, "<=1.26")[-4:] == [
        "1.26.0-rc.1",
        "1.26.0-rc.1-alpine",
        "1.26.0",
        "1.26.0-alpine",
    ]
    assert selected(NGINX, "==1.25.3") == ["1.25.3", "v1.25.3-alpine", "1.25.3-alpine3.19"]
    assert selected(NGINX, "==1.26.*") == [
        "1.26.0-rc.1",
        "1.26.0-rc.1-alpine",
        "1.26.0",
        "1.26.0-alpine",
    ]
    assert selected(NGINX, ">=1.25,<1.26.0-rc.1") == [
        "1.25.3",
        "v1.25.3-alpine",
        "1.25.3-alpine3.19",
    ]
    # bounds are read as tags are
    assert selected(NGINX, ">v1.25.3") == selected(NGINX, ">1.25.3")
    assert selected(["2024.01.15", "2024.1.2", "2023.12.31"], ">=2024.01.01") == [
        "2024.1.2",
        "2024.01.15",
    ]
    assert selected(["3.13.0rc1-slim", "3.13.0", "3.12.1"], "==3.13.0rc1") == ["3.13.0rc1-slim"]


def test_variant_restricts_version_selectors():
    assert selected(NGINX, "<1.26", variants=("none",)) == ["1.24.0", "1.25.0-rc.1", "1.25.3"]
    assert selected(NGINX, "<1.26", variants=("alpine",)) == ["v1.25.3-alpine"]
    assert selected(NGINX, "<1.26", variants=("alpine3.19",)) == ["1.25.3-alpine3.19"]
    assert selected(NGINX, "<1.26", variants=("alpine*",)) == [
        "v1.25.3-alpine",
        "1.25.3-alpine3.19",
    ]
    assert selected(NGINX, ">=1.26", variants=("alpine", "none")) == ["1.26.0", "1.26.0-alpine"]
    # exact names are not restricted
    assert selected(NGINX, ">=1.26", "stable", variants=("alpine",)) == [
        "1.26.0-alpine",
        "stable",
    ]


def test_plain_names_of_the_corpus_never_match_a_version_selector():
    names = [c.tag for c in CORPUS if c.version is None]
    for sel in ("<99999999", ">=0", "!=1.0", "~=1.0", "==1.*", ">0,<99999999"):
        assert selected(names, sel) == [], sel
        assert parse_filter(sel).filter(names) == [], sel


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("<1.26-alpine", "'1.26-alpine' is not a version"),
        ("<21.0.1_12", "'21.0.1_12' is not a version"),
        ("<3.5.10-0", "'3.5.10-0' is not a version"),
        ("<latest", "'latest' is not a version"),
        ("<jammy-20231128", "'jammy-20231128' is not a version"),
    ],
)
def test_bounds_with_a_variant_or_build_are_refused(selector, message):
    with pytest.raises(SelectorError, match=re.escape(message)):
        Selection.from_args(repositories=["app"], tags=[selector])


# -- properties --------------------------------------------------------------------------------

_PRE_WORDS = {
    "a": "a",
    "alpha": "a",
    "b": "b",
    "beta": "b",
    "c": "rc",
    "rc": "rc",
    "pre": "rc",
    "preview": "rc",
    "dev": "dev",
}
# a variant whose start the docstring reads as PRE (`-rc1`, `-a`) or BUILD (`-build7`, a commit
# id); such tags are pinned by the corpus, the generator leaves them out
_NOT_A_VARIANT = re.compile(
    r"(?:alpha|beta|preview|pre|rc|dev|a|b|c)(?:$|[-._\d])|(?:build[.-]?\d+|[0-9a-f]{7,40})(?:$|-)",
    re.IGNORECASE,
)
_REAL_VARIANTS = [
    "alpine",
    "alpine3.19",
    "slim-bookworm",
    "bookworm-slim",
    "windowsservercore-ltsc2022",
    "nanoserver-1809",
    "jdk21-temurin-jammy",
    "jdk-jammy",
    "ubuntu",
    "perl",
]


class Gen(NamedTuple):
    """A tag built from the grammar, with what it was built from."""

    tag: str
    version: Version
    build: str
    variant: str


small = st.integers(0, 12)
numbers = st.one_of(small, small, st.integers(0, 20240115))
variants = st.one_of(
    st.sampled_from(_REAL_VARIANTS),
    st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(
        lambda v: not _NOT_A_VARIANT.match(v)
    ),
)
commits = st.from_regex(r"[0-9a-f]{7,40}", fullmatch=True).filter(
    lambda c: re.search("[a-f]", c) and not re.fullmatch(r"[abc]\d+", c)
)


@st.composite
def grammar_tags(draw, with_variant: bool | None = None) -> Gen:
    prefix = draw(st.sampled_from(["", "", "v", "V"]))
    nums = draw(st.lists(numbers, min_size=1, max_size=4))
    release = ".".join(draw(st.sampled_from([str(n), f"{n:02d}"])) for n in nums)
    spec = ".".join(str(n) for n in nums)
    pre_number: int | None = None
    pre = ""
    if draw(st.booleans()):
        word = draw(st.sampled_from(sorted(_PRE_WORDS)))
        kind = _PRE_WORDS[word]
        cased = draw(st.sampled_from([word, word.upper(), word.capitalize()]))
        pre_number = draw(st.none() | st.integers(0, 20))
        pre = draw(st.sampled_from(["", "-", "."])) + cased
        if pre_number is not None:
            pre += draw(st.sampled_from(["", ".", "-"])) + str(pre_number)
        n = pre_number or 0
        spec += f".dev{n}" if kind == "dev" else f"{kind}{n}"
    build_kind = draw(st.sampled_from(["", "", "_build.", "_", "-", "-build", "-commit"]))
    if build_kind == "-" and pre and pre_number is None:
        build_kind = ""  # `1.0-rc-3` is rc3: a number after the word belongs to it
    build = ""
    if build_kind == "-commit":
        build = draw(commits)
    elif build_kind:
        build = build_kind.lstrip("_-") + str(draw(numbers))
    build_text = (build_kind[0] if build_kind else "") + build
    variant = ""
    if with_variant or (with_variant is None and draw(st.booleans())):
        variant = draw(variants)
    tag = prefix + release + pre + build_text + (f"-{variant}" if variant else "")
    return Gen(tag, Version(spec), build, variant)


oci_tags = st.from_regex(OCI_TAG, fullmatch=True)
# a tag that starts with a letter (other than `v` + digit) or `_` is a plain name
plain_names = st.one_of(
    st.from_regex(r"[A-UW-Za-uw-z_][A-Za-z0-9._-]{0,40}", fullmatch=True),
    st.from_regex(r"[vV]([A-Za-z._-][A-Za-z0-9._-]{0,40})?", fullmatch=True),
    st.sampled_from([c.tag for c in CORPUS if c.version is None]),
)
any_tags = st.one_of(
    oci_tags,
    plain_names,
    grammar_tags().map(lambda g: g.tag),
    st.sampled_from([c.tag for c in CORPUS]),
)


@BOUNDED
@given(oci_tags)
def test_parse_never_raises_and_is_consistent(tag):
    parts = parse_tag(tag)
    assert parts.tag == tag and parse_version(tag) == parts.version
    if parts.version is None:
        assert parts == TagParts(tag)
    else:
        assert tag.removeprefix("v").removeprefix("V").startswith(parts.release)
        assert not parts.variant or (parts.variant[0].isalpha() and tag.endswith(parts.variant))
    key = sort_key(tag)
    assert key[-1] == tag and key == sort_key(tag)


@BOUNDED
@given(plain_names)
def test_tags_starting_with_a_word_are_plain_names(tag):
    assert parse_tag(tag) == TagParts(tag)


@BOUNDED
@given(grammar_tags())
def test_grammar_tags_read_as_built(gen: Gen):
    parts = parse_tag(gen.tag)
    assert (parts.version, parts.build, parts.variant) == (gen.version, gen.build, gen.variant)
    # `v` is ignored for comparison
    bare = gen.tag[1:] if gen.tag[0] in "vV" else gen.tag
    assert parse_version(bare) == gen.version
    assert sort_key(bare)[:4] == sort_key(gen.tag)[:4]


@BOUNDED
@given(st.lists(any_tags, max_size=25), st.randoms(use_true_random=False))
def test_the_order_is_total_and_sorting_is_stable(tags, rnd):
    keys = {t: sort_key(t) for t in tags}
    # sort_key(a) == sort_key(b) only if a == b
    assert len(set(keys.values())) == len(set(tags))
    ordered = sort_tags(tags)
    assert sorted(ordered) == sorted(tags)  # a permutation
    assert all(keys[a] <= keys[b] for a, b in zip(ordered, ordered[1:], strict=False))
    assert sort_tags(ordered) == ordered  # idempotent
    shuffled = tags[:]
    rnd.shuffle(shuffled)
    assert sort_tags(shuffled) == ordered
    assert sort_tags(tags, reverse=True) == ordered[::-1]  # no ties but equal tags
    # trichotomy on every pair
    for a in tags[:8]:
        for b in tags[:8]:
            assert [keys[a] < keys[b], a == b, keys[b] < keys[a]].count(True) == 1


@BOUNDED
@given(st.lists(st.one_of(grammar_tags().map(lambda g: g.tag), plain_names), max_size=20))
def test_versions_sort_before_plain_names(tags):
    ordered = sort_tags(tags)
    kinds = [parse_version(t) is None for t in ordered]
    assert kinds == sorted(kinds)  # every version, then every plain name
    by_group = sorted(tags, key=variant_sort_key)
    groups = [_group(parse_tag(t)) for t in by_group]
    assert groups == sorted(groups)  # no variant, then variants, then plain names


def _group(parts: TagParts) -> int:
    if parts.version is None:
        return 2
    return 1 if parts.variant else 0


@BOUNDED
@given(grammar_tags(), grammar_tags())
def test_the_version_decides_first(a: Gen, b: Gen):
    if a.version < b.version:
        assert sort_key(a.tag) < sort_key(b.tag)
    elif a.version > b.version:
        assert sort_key(a.tag) > sort_key(b.tag)
    elif not a.variant and b.variant:
        assert sort_key(a.tag) < sort_key(b.tag)  # no variant first
    elif a.variant == b.variant and natural_key(a.build) != natural_key(b.build):
        assert (sort_key(a.tag) < sort_key(b.tag)) == (natural_key(a.build) < natural_key(b.build))


bounds = st.builds(
    lambda nums, v: v + ".".join(str(n) for n in nums),
    st.lists(small, min_size=1, max_size=3),
    st.sampled_from(["", "v"]),
)


@BOUNDED
@given(st.lists(grammar_tags(), min_size=1, max_size=12), bounds)
def test_selectors_agree_with_the_order(gens: list[Gen], bound: str):
    tags = list(dict.fromkeys(g.tag for g in gens))
    x = Version(bound.lstrip("v"))
    below = selected(tags, f"<{bound}")
    at_least = selected(tags, f">={bound}")
    at_most = selected(tags, f"<={bound}")
    above = selected(tags, f">{bound}")
    assert below == [t for t in sort_tags(tags) if t in below]  # the selection is in order
    for a in below + at_most:
        for b in at_least + above:
            if a in below or b in above:
                assert sort_key(a) < sort_key(b)
    for t in tags:
        v = parse_version(t)
        assert v is not None
        pre_of_x = v.is_prerelease and Version(v.base_version) == x
        # PEP 440: `<X` does not take a pre-release of X; every other version below X it takes
        assert (t in below) == (v < x and not pre_of_x)
        assert (t in at_least) == (v >= x)
        assert (t in at_most) == (v <= x)
    # the TUI filter reads the same selectors
    assert parse_filter(f"<{bound}").filter(sort_tags(tags)) == below


@BOUNDED
@given(st.lists(grammar_tags(), min_size=1, max_size=12), bounds, st.data())
def test_variant_restricts_exactly(gens: list[Gen], bound: str, data):
    tags = list(dict.fromkeys(g.tag for g in gens))
    unrestricted = selected(tags, f"<{bound}")
    present = sorted({parse_tag(t).variant for t in tags} - {""})
    pattern = data.draw(
        st.sampled_from(["none", "zzz-not-there", *present, *(p[:1] + "*" for p in present)])
    )
    chosen = selected(tags, f"<{bound}", variants=(pattern,))

    def takes(variant: str) -> bool:
        if pattern == "none":
            return not variant
        if pattern.endswith("*"):
            return variant.startswith(pattern[:-1])
        return variant == pattern

    assert chosen == [t for t in unrestricted if takes(parse_tag(t).variant)]


selector_ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~="])


@BOUNDED
@given(st.lists(plain_names, min_size=1, max_size=10), selector_ops, bounds)
def test_plain_names_and_latest_never_match_a_version_selector(names, op, bound):
    if op == "~=" and "." not in bound:
        bound += ".0"  # ~= needs two parts
    tags = list(dict.fromkeys([*names, "latest"]))
    assert selected(tags, f"{op}{bound}") == []
    assert selected(tags, f"{op}{bound}", variants=("none",)) == []
    assert parse_filter(f"{op}{bound}").filter(tags) == []
