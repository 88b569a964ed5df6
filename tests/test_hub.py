"""Loading from and pushing to the Hugging Face Hub, offline.

Models are "published" into a Hugging Face cache built in tmp_path in the hub's own layout
(``models--org--name/{refs,snapshots,blobs}``, snapshot files as relative symlinks into
``blobs/``), with ``HF_HUB_OFFLINE=1``; every socket connection fails the test. Uploading is
checked at the ``huggingface_hub.HfApi`` boundary: the calls and the files they are handed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
from pathlib import Path

import huggingface_hub
import huggingface_hub.constants as hf_constants
import pytest
import torch

import obsnets.saving
from obsnets import ConfigError, ObservationDecoder, PluginLoadError
from obsnets.errors import HubError
from obsnets.hub_upload import push_to_hub
from obsnets.model_card import render_model_card
from obsnets.saved_config import parse_saved_config
from obsnets.saving import (
    MODEL_FILES,
    WEIGHTS_FILE,
    load,
    read_saved_config,
    save_pretrained,
)

REPO = "my-lab/decoder"
MAIN_COMMIT = "a" * 40
TAG_COMMIT = "b" * 40


def _decoder(seed: int) -> ObservationDecoder:
    torch.manual_seed(seed)
    return ObservationDecoder({"a": [3], "b": [2, 2]}, input_feat_dim=8)


def _assert_same_outputs(loaded: torch.nn.Module, expected: torch.nn.Module) -> None:
    feats = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    expected.eval()
    with torch.no_grad():
        got, want = loaded(feats), expected(feats)
    assert set(got) == set(want) == {"a", "b"}
    for key in want:
        assert torch.equal(got[key], want[key]), key


def _blob_name(data: bytes, name: str) -> str:
    # The hub's names: sha256 for LFS files (the weights), the git blob sha1 for the rest.
    if name.endswith(".safetensors"):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def publish(cache: Path, repo_id: str, folder: Path, commit: str, refs=("main",)) -> Path:
    """Put the files of ``folder`` into ``cache`` as the hub's download would; return the
    snapshot folder."""
    repository = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repository / "snapshots" / commit
    (repository / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True)
    for file in sorted(folder.iterdir()):
        data = file.read_bytes()
        blob = repository / "blobs" / _blob_name(data, file.name)
        blob.write_bytes(data)
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    (repository / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (repository / "refs" / ref).write_text(commit)  # no newline, as the hub writes it
    return snapshot


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection attempt fails the test (not caught as a connection error)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache under HF_HOME=tmp_path/hf, offline.

    huggingface_hub reads its environment when imported, so its constants are set too."""
    home = tmp_path / "hf"
    cache = home / "hub"
    cache.mkdir(parents=True)
    for name, value in {"HF_HOME": home, "HF_HUB_CACHE": cache, "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(hf_constants, "HF_HOME", str(home))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache


@pytest.fixture
def published(hub_cache, tmp_path) -> dict[str, ObservationDecoder]:
    """REPO with seed 0 on main and seed 1 on the tag v2."""
    models = {"main": _decoder(0), "v2": _decoder(1)}
    for (ref, model), commit in zip(models.items(), (MAIN_COMMIT, TAG_COMMIT)):
        folder = save_pretrained(model, tmp_path / "saved" / ref)
        publish(hub_cache, REPO, folder, commit, refs=(ref,))
    return models


def test_load_by_hf_reference_reads_the_cache_and_reproduces_outputs(
    published, hub_cache, tmp_path
):
    snapshot = hub_cache / "models--my-lab--decoder" / "snapshots" / MAIN_COMMIT
    assert all((snapshot / name).is_symlink() for name in MODEL_FILES)  # the hub's layout
    loaded = load(f"hf://{REPO}")
    assert isinstance(loaded, ObservationDecoder)
    assert not loaded.training
    _assert_same_outputs(loaded, published["main"])
    assert read_saved_config(f"hf://{REPO}") == read_saved_config(tmp_path / "saved" / "main")


def test_a_revision_selects_its_snapshot(published):
    _assert_same_outputs(load(f"hf://{REPO}@v2"), published["v2"])
    _assert_same_outputs(load(f"hf://{REPO}", revision="v2"), published["v2"])
    _assert_same_outputs(load(f"hf://{REPO}@{TAG_COMMIT}"), published["v2"])  # a commit hash
    _assert_same_outputs(ObservationDecoder.from_pretrained(REPO, revision="v2"), published["v2"])
    _assert_same_outputs(ObservationDecoder.from_pretrained(f"hf://{REPO}"), published["main"])


def test_cache_dir_and_local_files_only(tmp_path, monkeypatch):
    # Online as far as huggingface_hub knows: local_files_only alone keeps it off the network.
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    cache = tmp_path / "my-cache"
    model = _decoder(2)
    publish(cache, REPO, save_pretrained(model, tmp_path / "saved"), MAIN_COMMIT)
    loaded = ObservationDecoder.from_pretrained(REPO, cache_dir=cache, local_files_only=True)
    _assert_same_outputs(loaded, model)
    _assert_same_outputs(load(f"hf://{REPO}", cache_dir=cache, local_files_only=True), model)
    with pytest.raises(HubError, match="local_files_only=True"):
        load(f"hf://{REPO}", cache_dir=tmp_path / "empty", local_files_only=True)


def test_an_existing_local_folder_wins_over_a_hub_id(published, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    local = _decoder(5)
    save_pretrained(local, Path(REPO))  # ./my-lab/decoder
    _assert_same_outputs(ObservationDecoder.from_pretrained(REPO), local)
    _assert_same_outputs(load(REPO), local)
    _assert_same_outputs(load(f"hf://{REPO}"), published["main"])  # hf:// is always the Hub
    with pytest.raises(ConfigError, match=r"revision='v2' applies to Hugging Face Hub models"):
        ObservationDecoder.from_pretrained(REPO, revision="v2")


def test_load_reads_a_missing_org_name_as_a_path_and_suggests_hf(published, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"no such folder.*'hf://my-lab/decoder'"):
        load(REPO)
    with pytest.raises(ConfigError, match="No saved obsnets model"):
        ObservationDecoder.from_pretrained(Path(REPO))  # a Path is always local


def test_offline_and_not_cached_names_the_repo_revision_and_cache(hub_cache):
    with pytest.raises(HubError) as caught:
        load("hf://my-lab/missing@v3")
    message = str(caught.value)
    for fragment in (
        "'my-lab/missing'",
        "revision 'v3'",
        str(hub_cache / "models--my-lab--missing"),
        "HF_HUB_OFFLINE",
        "local_files_only=False",
        "hf download my-lab/missing --revision v3",
    ):
        assert fragment in message
    with pytest.raises(HubError, match=r"no local folder 'my-lab/missing'.*the default branch"):
        ObservationDecoder.from_pretrained("my-lab/missing")


def test_an_unknown_revision_of_a_cached_repo_is_named(published):
    with pytest.raises(HubError, match=r"revision 'nope'.*not in the Hugging Face cache"):
        load(f"hf://{REPO}@nope")


@pytest.mark.parametrize(
    "reference",
    [
        "hf://decoder",
        "hf://my-lab/decoder/extra",
        "hf://my-lab/de coder",
        "hf://my-lab--x/decoder",
        "hf://my-lab/decoder@",
        "hf://my-lab/decoder@ main",
        "hf://../decoder",
    ],
)
def test_a_malformed_reference_is_a_config_error(reference, hub_cache):
    with pytest.raises(ConfigError, match=r"repository id|revision|ends with '@'"):
        load(reference)


def test_a_revision_given_twice_is_refused(published):
    with pytest.raises(ConfigError, match="give it once"):
        load(f"hf://{REPO}@v2", revision="main")


def test_a_repository_without_an_obsnets_model_is_named(hub_cache, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").write_text("# a dataset card\n")
    publish(hub_cache, "my-lab/other", other, MAIN_COMMIT)
    with pytest.raises(ConfigError, match=r"holds no config\.json"):
        load("hf://my-lab/other")


def test_a_symlink_escaping_the_cache_is_refused(published, hub_cache, tmp_path):
    snapshot = hub_cache / "models--my-lab--decoder" / "snapshots" / MAIN_COMMIT
    outside = tmp_path / "outside.safetensors"
    shutil.copyfile(snapshot / WEIGHTS_FILE, outside)  # the same bytes: only the place is wrong
    (snapshot / WEIGHTS_FILE).unlink()
    (snapshot / WEIGHTS_FILE).symlink_to(outside)
    with pytest.raises(ConfigError, match=r"is a symlink to .*outside.*cache folder"):
        load(f"hf://{REPO}")
    # Into another repository of the same cache is outside too.
    (snapshot / WEIGHTS_FILE).unlink()
    (snapshot / WEIGHTS_FILE).symlink_to(outside.rename(hub_cache / "stray.safetensors"))
    with pytest.raises(ConfigError, match="outside"):
        load(f"hf://{REPO}")


def test_a_blob_that_is_a_fifo_is_refused_without_blocking(published, hub_cache):
    repository = hub_cache / "models--my-lab--decoder"
    link = repository / "snapshots" / MAIN_COMMIT / WEIGHTS_FILE
    blob = link.resolve()
    blob.unlink()
    os.mkfifo(blob)
    with pytest.raises(ConfigError, match="not a regular file"):
        load(f"hf://{REPO}")


def test_a_local_folder_still_refuses_symlinks(published, hub_cache, tmp_path):
    # A copy of the snapshot outside the cache: its symlinks are not trusted.
    snapshot = hub_cache / "models--my-lab--decoder" / "snapshots" / MAIN_COMMIT
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in MODEL_FILES:
        (copy / name).symlink_to((snapshot / name).resolve())
    with pytest.raises(ConfigError, match="is a symlink"):
        load(copy)


def test_without_huggingface_hub_the_error_says_what_to_install(monkeypatch, published):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import raises ImportError
    with pytest.raises(PluginLoadError, match=r'pip install "obsnets\[hub\]"'):
        load(f"hf://{REPO}")
    with pytest.raises(PluginLoadError, match=r'pip install "obsnets\[hub\]"'):
        push_to_hub(_decoder(0), REPO)


def test_the_cli_inspects_and_builds_a_hub_model(published, hub_cache, run_cli):
    env = {"HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    inspected = run_cli("inspect", f"hf://{REPO}@v2", env=env)
    assert inspected.returncode == 0, inspected.stderr
    assert inspected.stdout.startswith("ObservationDecoder  (network, ")
    built = run_cli("build", f"hf://{REPO}", env=env)
    assert built.returncode == 0, built.stderr
    assert f"obsnets saved model (Hugging Face Hub): hf://{REPO}" in built.stdout
    assert "output shapes: {'a': [2, 3], 'b': [2, 2, 2]}" in built.stdout
    missing = run_cli("inspect", "hf://my-lab/missing", env=env)
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert "my-lab/missing" in missing.stderr and "hf download" in missing.stderr


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records each call and the uploaded files."""

    calls: list[tuple[str, dict]]
    uploaded: dict[str, bytes]

    def __init__(self, token=None, library_name=None, **kwargs):
        self.token = token
        RecordingApi.tokens.append(token)

    def create_repo(self, repo_id, **kwargs):
        RecordingApi.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def create_branch(self, repo_id, **kwargs):
        RecordingApi.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        RecordingApi.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        RecordingApi.uploaded = {p.name: p.read_bytes() for p in folder.iterdir()}
        return huggingface_hub.CommitInfo(
            commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/{MAIN_COMMIT}",
            commit_message=kwargs["commit_message"],
            commit_description="",
            oid=MAIN_COMMIT,
        )


@pytest.fixture
def api(monkeypatch):
    RecordingApi.calls, RecordingApi.uploaded, RecordingApi.tokens = [], {}, []
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingApi)
    return RecordingApi


def test_push_to_hub_uploads_a_loadable_saved_model_with_its_card(api, tmp_path):
    model = _decoder(7)
    info = push_to_hub(
        model, REPO, revision="dev", private=True, commit_message="first", token="hf_x"
    )
    assert info.oid == MAIN_COMMIT
    assert [name for name, _ in api.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert api.calls[0][1] == {
        "repo_id": REPO,
        "repo_type": "model",
        "private": True,
        "exist_ok": True,
    }
    assert api.calls[1][1] == {
        "repo_id": REPO,
        "branch": "dev",
        "repo_type": "model",
        "exist_ok": True,
    }
    upload = api.calls[2][1]
    assert (upload["repo_id"], upload["revision"], upload["commit_message"]) == (
        REPO,
        "dev",
        "first",
    )
    assert api.tokens == ["hf_x"]
    assert sorted(api.uploaded) == sorted(MODEL_FILES)
    card = api.uploaded["README.md"].decode()
    assert f'obsnets.load("hf://{REPO}")' in card
    folder = tmp_path / "downloaded"
    folder.mkdir()
    for name, data in api.uploaded.items():
        (folder / name).write_bytes(data)
    _assert_same_outputs(load(folder), model)


def test_push_to_hub_defaults(api):
    push_to_hub(_decoder(0), REPO, create_repo=False)
    assert [name for name, _ in api.calls] == ["upload_folder"]
    upload = api.calls[0][1]
    assert upload["revision"] is None
    assert upload["commit_message"] == "Upload ObservationDecoder with obsnets"
    assert api.tokens == [None]


def test_push_to_hub_refuses_before_any_call(api):
    with pytest.raises(ConfigError, match="repo_id must be"):
        push_to_hub(_decoder(0), "not a repo")
    unsaveable = _decoder(0)
    unsaveable.nets["a"] = torch.nn.Sequential(torch.nn.Linear(8, 3))  # not what it rebuilds
    with pytest.raises(ConfigError):
        push_to_hub(unsaveable, REPO)
    for revision in ("", " main"):
        with pytest.raises(ConfigError, match=r"The revision of the upload to .* must be a branch"):
            push_to_hub(_decoder(0), REPO, revision=revision)
    assert api.calls == []


def test_a_hub_failure_while_pushing_is_a_hub_error(api, monkeypatch):
    def unreachable(self, **kwargs):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(RecordingApi, "upload_folder", unreachable)
    with pytest.raises(HubError, match=r"'hf://my-lab/decoder@v1'.*Connection refused.*hf auth"):
        push_to_hub(_decoder(0), REPO, revision="v1")


def test_push_to_hub_renders_the_model_card_once_for_its_repository(api, monkeypatch):
    rendered: list[str | None] = []

    def recording(config, repo_id=None):
        rendered.append(repo_id)
        return render_model_card(config, repo_id=repo_id)

    monkeypatch.setattr(obsnets.saving, "render_model_card", recording)
    push_to_hub(_decoder(0), REPO)
    assert rendered == [REPO]
    uploaded_config = parse_saved_config(api.uploaded["config.json"], "config.json")
    assert api.uploaded["README.md"].decode() == render_model_card(uploaded_config, repo_id=REPO)
