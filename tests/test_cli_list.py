"""list-repo-names / list-tag-names end to end against the real registry."""

from __future__ import annotations

import io
import json
import re

from conftest import BIG_REPOS
from hypothesis import given, settings
from hypothesis import strategies as st

from dregtui.cli.commands._context import Context
from dregtui.registry.client import RegistryClient
from dregtui.state.config import Settings

BIG_NAMES = sorted(f"ns{i % 7}/repo-{i:03d}" for i in range(BIG_REPOS))


def test_list_repo_names_sees_every_repository_past_the_first_page(big_registry, run_cli):
    result = run_cli("-reg", big_registry.url, "-c", "None", "list-repo-names")
    assert result.code == 0, result
    assert result.lines == BIG_NAMES  # 130 > 100: the catalog's Link pagination was followed
    assert result.err == ""


def test_list_repo_names_count_and_json(big_registry, run_cli):
    result = run_cli("-reg", big_registry.url, "-c", "None", "--count", "list-repo-names")
    assert result.code == 0, result
    assert result.lines[:-2] == BIG_NAMES
    assert result.lines[-1] == f"Number of repositories: {BIG_REPOS}"
    assert set(result.lines[-2]) == {"-"}

    result = run_cli("-reg", big_registry.url, "-c", "None", "list-repo-names", "--json")
    doc = json.loads(result.out)
    assert [d["repository"] for d in doc] == BIG_NAMES
    assert all(d["tags"] == 3 for d in doc)


def test_list_tag_names_classic_columns_in_version_order(big_registry, run_cli):
    result = run_cli("-reg=" + big_registry.url, "-c", "None", "list-tag-names")
    assert result.code == 0, result
    assert len(result.lines) == BIG_REPOS * 3
    width = max(len(n) for n in BIG_NAMES)
    expected = [f"{repo:{width}}  {tag}" for repo in BIG_NAMES for tag in ("1.0", "1.1", "latest")]
    assert result.lines == expected


def test_list_tag_names_filter_reverse_image_names_and_count(big_registry, run_cli):
    url = big_registry.url
    result = run_cli(
        "-reg", url, "-c", "None", "--count",
        "list-tag-names", "ns3/repo-010", "ns0/repo-000", "--reverse-sort",
    )  # fmt: skip
    assert result.code == 0, result
    assert result.lines == [
        "ns3/repo-010  latest",
        "ns3/repo-010  1.1",
        "ns3/repo-010  1.0",
        "ns0/repo-000  latest",
        "ns0/repo-000  1.1",
        "ns0/repo-000  1.0",
        "-" * len("Number of tags: 6"),
        "Number of tags: 6",
    ]
    host = url.split("://", 1)[1]
    result = run_cli("-reg", url, "-c", "None", "list-tag-names", "ns0/repo-000", "--image-names")
    assert result.lines == [f"{host}/ns0/repo-000:{t}" for t in ("1.0", "1.1", "latest")]


def test_list_tag_names_json_has_digests_and_media_types(big_registry, run_cli):
    result = run_cli("-reg", big_registry.url, "-c", "None", "--json", "list-tag-names")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert len(doc) == BIG_REPOS * 3
    assert set(doc[0]) == {"repository", "tag", "digest", "media_type"}
    by_key = {(d["repository"], d["tag"]): d for d in doc}
    with RegistryClient(big_registry.url) as c:
        ref = c.head_manifest("ns2/repo-002", "1.1")
    assert by_key[("ns2/repo-002", "1.1")]["digest"] == ref.digest
    # "latest" was pushed as the same manifest as "1.0": same digest, different from 1.1
    assert by_key[("ns2/repo-002", "latest")]["digest"] == by_key[("ns2/repo-002", "1.0")]["digest"]
    assert by_key[("ns2/repo-002", "latest")]["digest"] != ref.digest
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", d["digest"]) for d in doc)
    assert {d["media_type"] for d in doc} == {
        "application/vnd.docker.distribution.manifest.v2+json"
    }


def test_unknown_repository_filter_is_one_line_error(big_registry, run_cli):
    result = run_cli("-reg", big_registry.url, "-c", "None", "list-tag-names", "no/such-repo")
    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("dregtui: error: ") and "no/such-repo" in result.err


def test_index_and_empty_repositories(registry, pusher, client, run_cli):
    index, _children = pusher.index("multi/arch", "v1.2.0")
    image = pusher.image("solo", "1.0")
    assert client.delete_manifest("solo", image.digest) == "deleted"  # empty but still in catalog
    result = run_cli("-reg", registry.url, "-c", "None", "list-repo-names")
    assert result.lines == ["multi/arch"]  # empty repositories are not listed (classic behaviour)
    result = run_cli("-reg", registry.url, "-c", "None", "--json", "list-tag-names")
    assert json.loads(result.out) == [
        {
            "repository": "multi/arch",
            "tag": "v1.2.0",
            "digest": index.digest,
            "media_type": "application/vnd.oci.image.index.v1+json",
        }
    ]


def test_repositories_option_scans_only_named_repositories(small_registry, run_cli):
    result = run_cli(
        "-reg", small_registry.url, "--repositories", "team/app-03,team/app-01", "-c", "None",
        "list-tag-names",
    )  # fmt: skip
    assert result.code == 0, result
    assert [line.split()[0] for line in result.lines] == ["team/app-01"] * 3 + ["team/app-03"] * 3


def test_dregutil_style_digest_auth_forms_and_help(small_registry, run_cli):
    # --digest-auth as a bare flag before the command, and with a classic VALUE
    for form in (["--digest-auth"], ["--digest-auth", "false"], ["--digest-auth=yes"]):
        result = run_cli("-reg", small_registry.url, *form, "-c", "None", "list-repo-names")
        assert result.code == 0, (form, result)
        assert len(result.lines) == 12
    result = run_cli("--help")
    assert result.code == 0
    result = run_cli("list-tag-names", "--help")
    assert result.code == 0


def test_closed_catalog_named_repositories(token_registry, run_cli):
    """'reader' may pull but not list the catalog (like Docker Hub / GHCR for most users)."""
    from support.fixtures import PASSWORD, USER

    from dregtui.demo.images import ImagePusher

    url = token_registry.url
    with RegistryClient(url, username=USER, password=PASSWORD) as c:
        p = ImagePusher(c)
        for repo in ("team/a", "team/b", "team/c"):
            p.image(repo, "1.0", seed=repo)
            p.image(repo, "1.1", seed=repo + "/1.1")
    reader = ("-reg", url, "-u", "reader", "-p", "readonly")
    result = run_cli(*reader, "list-repo-names")
    assert result.code == 1 and result.err.count("\n") == 1
    assert "--repositories" in result.err
    result = run_cli(*reader, "--repositories", "team/a,team/c", "list-repo-names")
    assert result.code == 0, result
    assert result.lines == ["team/a", "team/c"]
    # a positional filter is enough for list-tag-names
    result = run_cli(*reader, "list-tag-names", "team/b")
    assert result.code == 0, result
    assert result.lines == ["team/b  1.0", "team/b  1.1"]
    # the partial cache is never taken for the whole registry
    result = run_cli(*reader, "list-repo-names")
    assert result.code == 1 and "--repositories" in result.err


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.text(), _SCALARS | st.lists(_SCALARS, max_size=2), max_size=4)
        | st.lists(_SCALARS, max_size=3),
        max_size=4,
    )
)
def test_json_lists_are_streamed_as_the_very_document_json_would_write(items) -> None:  # type: ignore[no-untyped-def]
    """Streamed one item at a time, an object of plain values by the C encoder: the bytes of
    json.dumps(items, indent=2) all the same (quotes, newlines and escapes in keys and values
    included)."""
    out = io.StringIO()
    Context(Settings(), stdout=out).out_json_list(iter(items))
    assert out.getvalue() == json.dumps(items, indent=2) + "\n"
