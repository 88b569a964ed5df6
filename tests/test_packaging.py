"""Every distribution as a package index shows it, read from what the build produces.

A module fixture builds, once, with the installed setuptools (the PEP 517 hooks pip calls,
warnings as errors): the root sdist, a wheel from that unpacked sdist (so the sdist holds all the
build needs), and a wheel of every first-party plugin, of the example plugin and of a plugin
``obsnets new-plugin`` writes. Each source folder is copied first, so the build sees only what
the folder holds (as an sdist of it would) and leaves nothing in the working tree. The checks
read the built metadata, never the pyproject files (except the build requirement, which only
lives there).
"""

from __future__ import annotations

import email.parser
import importlib
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
import zipfile
from dataclasses import dataclass
from email.message import Message
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from obsnets.scaffold import create_plugin

REPO = Path(__file__).resolve().parents[1]
PLUGINS = sorted(
    p.parent.relative_to(REPO).as_posix() for p in REPO.glob("plugins/*/pyproject.toml")
)
EXAMPLES = sorted(
    p.parent.relative_to(REPO).as_posix() for p in REPO.glob("examples/plugins/*/pyproject.toml")
)
SCAFFOLD = "new-plugin"  # the folder `obsnets new-plugin` writes, in a tmp folder
ROOT = "."
FOLDERS = [ROOT, *PLUGINS, *EXAMPLES]
ALL = [*FOLDERS, SCAFFOLD]
PLUGIN_FOLDERS = [*PLUGINS, *EXAMPLES, SCAFFOLD]

URL_LABELS = {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
SHARED_CLASSIFIERS = {
    "Intended Audience :: Science/Research",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
    "Topic :: Scientific/Engineering :: Artificial Intelligence",
}
PLUGIN_KEYWORD = "obsnets-plugin"
# The first setuptools that reads `license` as an SPDX expression and `license-files` (PEP 639).
SETUPTOOLS_FLOOR = Version("77")

IGNORED = shutil.ignore_patterns("__pycache__", "build", "dist", "*.egg-info", ".pytest_cache")
# One interpreter runs the build hook for every folder in turn: setuptools is imported once, and
# the whole build takes ~3 s instead of ~10 s with one process per wheel.
BUILD_WHEELS = """
import os, sys
import setuptools.build_meta as backend
out = sys.argv[1]
for folder in sys.argv[2:]:
    os.chdir(folder)
    print("built:", backend.build_wheel(out))
"""
BUILD_SDIST = "import sys, setuptools.build_meta as b; print('built:', b.build_sdist(sys.argv[1]))"


@dataclass(frozen=True)
class Built:
    """One distribution's wheel, as an index or pip would read it.

    Attributes:
        source: The distribution's folder (in the repository; a tmp one for the generated
            plugin).
        metadata: The wheel's ``METADATA`` headers.
        description: Its long description (the README).
        files: The wheel's Python, ``.txt``, ``METADATA`` and licence files: name -> text.
    """

    source: Path
    metadata: Message
    description: str
    files: dict[str, str]

    @property
    def name(self) -> str:
        return self.metadata["Name"]

    @property
    def package(self) -> str:
        """The import package named like the distribution (``obsnets_timm``)."""
        return self.name.replace("-", "_")

    def dist_info(self, name: str) -> str | None:
        """The text of ``<name>-<version>.dist-info/<name>``, or None."""
        return next((t for n, t in self.files.items() if n.endswith(f".dist-info/{name}")), None)

    def requirements(self, extra: str | None = None) -> list[Requirement]:
        """Requires-Dist entries, unconditional ones or those of one extra."""
        found = []
        for line in self.metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None:
                wanted = extra is None
            else:
                wanted = extra is not None and marker.evaluate({"extra": extra})
            if wanted:
                found.append(requirement)
        return found


def _build(command: list[str], cwd: Path) -> list[str]:
    """Run a build script; the names of what it built (its ``built:`` lines), in order."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command[:3]} in {cwd}:\n{result.stdout}\n{result.stderr}"
    return [
        line.removeprefix("built: ")
        for line in result.stdout.splitlines()
        if line.startswith("built: ")
    ]


def _copy_root(target: Path) -> Path:
    """The root distribution's own files (the repository also holds the plugins, tests, ...)."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / "core", target / "core", ignore=IGNORED)
    return target


def _read_wheel(path: Path, source: Path) -> Built:
    with zipfile.ZipFile(path) as wheel:
        files = {
            n: wheel.read(n).decode()
            for n in wheel.namelist()
            if n.endswith((".py", ".txt", "METADATA")) or "/licenses/" in n
        }
    text = next(t for n, t in files.items() if n.endswith(".dist-info/METADATA"))
    message = email.parser.Parser().parsestr(text)
    return Built(source, message, message.get_payload(), files)


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[dict[str, Built], dict[str, str]]:
    """(source folder -> its wheel, root sdist member -> text), built once.

    The root's wheel is built from its unpacked sdist.
    """
    work = tmp_path_factory.mktemp("packaging")
    wheels, sources = work / "wheels", work / "sources"
    wheels.mkdir()
    sources.mkdir()
    (sdist_name,) = _build(
        [sys.executable, "-W", "error", "-c", BUILD_SDIST, str(work)], _copy_root(work / "root")
    )
    with tarfile.open(work / sdist_name) as sdist:
        sdist.extractall(work / "unpacked", filter="data")
    unpacked = work / "unpacked" / sdist_name.removesuffix(".tar.gz")
    sdist_files = {
        p.relative_to(unpacked).as_posix(): p.read_text()
        for p in unpacked.rglob("*")
        if p.is_file()
    }
    folders = {ROOT: unpacked}
    for folder in [*PLUGINS, *EXAMPLES]:
        folders[folder] = shutil.copytree(
            REPO / folder, sources / Path(folder).name, ignore=IGNORED
        )
    # A name no registered component or installed plugin can have.
    _, folders[SCAFFOLD], _ = create_plugin(f"pkg{uuid.uuid4().hex[:8]}", "pool", work / "new")
    command = [sys.executable, "-W", "error", "-c", BUILD_WHEELS, str(wheels)]
    names = _build([*command, *map(str, folders.values())], work)
    source_of = {folder: REPO / folder for folder in FOLDERS} | {SCAFFOLD: folders[SCAFFOLD]}
    wheels_by_folder = {
        folder: _read_wheel(wheels / name, source_of[folder])
        for folder, name in zip(folders, names, strict=True)
    }
    return wheels_by_folder, sdist_files


@pytest.fixture(scope="module")
def built(builds) -> dict[str, Built]:
    """Source folder (or ``SCAFFOLD``) -> its built wheel."""
    return builds[0]


@pytest.fixture(scope="module")
def sdist(builds) -> dict[str, str]:
    """The root sdist: file name inside its top folder -> text."""
    return builds[1]


def _first_party(built: dict[str, Built]) -> dict[str, Built]:
    return {f: b for f, b in built.items() if f in PLUGINS}


# -- what every distribution declares -------------------------------------------------------------


@pytest.mark.parametrize("folder", ALL)
def test_the_licence_is_an_spdx_expression_and_its_file_is_in_the_wheel(built, folder):
    wheel = built[folder]
    assert Version(wheel.metadata["Metadata-Version"]) >= Version("2.4")
    assert wheel.metadata["License-Expression"] == "MIT"
    assert wheel.metadata.get_all("License-File") == ["LICENSE"]
    licence = wheel.dist_info("licenses/LICENSE")
    assert licence is not None, sorted(wheel.files)
    assert licence == (wheel.source / "LICENSE").read_text()
    assert licence.startswith("MIT License\n")
    # PEP 639: a licence expression replaces the licence classifiers (setuptools refuses both).
    classifiers = wheel.metadata.get_all("Classifier") or []
    assert not [c for c in classifiers if c.startswith("License ::")]


@pytest.mark.parametrize("folder", ALL)
def test_classifiers_match_what_the_distribution_is(built, folder):
    wheel = built[folder]
    classifiers = set(wheel.metadata.get_all("Classifier") or [])
    assert classifiers >= SHARED_CLASSIFIERS, SHARED_CLASSIFIERS - classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    # The pytest plugin's distribution, and only it, says Framework :: Pytest.
    entry_points = wheel.dist_info("entry_points.txt") or ""
    assert ("[pytest11]" in entry_points) == ("Framework :: Pytest" in classifiers)
    # Every Python version named is one the distribution installs on, the one before is not.
    requires_python = SpecifierSet(wheel.metadata["Requires-Python"])
    minors = sorted(
        int(c.rsplit(".", 1)[1]) for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)
    )
    assert all(requires_python.contains(f"3.{m}") for m in minors)
    assert not requires_python.contains(f"3.{minors[0] - 1}")


def test_obsnets_ships_the_pytest_plugin_and_says_so(built):
    wheel = built[ROOT]
    assert "[pytest11]" in (wheel.dist_info("entry_points.txt") or "")
    assert "Framework :: Pytest" in wheel.metadata.get_all("Classifier")


@pytest.mark.parametrize("folder", FOLDERS)
def test_project_urls_share_one_base(built, folder):
    base = dict(u.split(", ", 1) for u in built[ROOT].metadata.get_all("Project-URL"))["Repository"]
    assert base.startswith("https://")
    urls = dict(u.split(", ", 1) for u in built[folder].metadata.get_all("Project-URL") or [])
    assert set(urls) == URL_LABELS
    assert all(url.startswith(base) for url in urls.values()), urls
    if folder != ROOT:  # a plugin's home is its own folder of the repository
        assert urls["Homepage"] == f"{base}/tree/main/{folder}"


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS)
def test_plugins_carry_the_shared_keyword(built, folder):
    keywords = built[folder].metadata["Keywords"].split(",")
    assert PLUGIN_KEYWORD in keywords
    assert "obsnets" in keywords


def test_obsnets_itself_is_not_listed_as_a_plugin(built):
    keywords = built[ROOT].metadata["Keywords"].split(",")
    assert "robotics" in keywords
    assert PLUGIN_KEYWORD not in keywords


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS)
def test_plugins_declare_the_obsnets_minor_series_they_support(built, folder):
    version = Version(built[ROOT].metadata["Version"])
    series = SpecifierSet(f">={version.major}.{version.minor},<{version.major}.{version.minor + 1}")
    obsnets = [r for r in built[folder].requirements() if r.name == "obsnets"]
    assert len(obsnets) == 1, built[folder].requirements()
    assert obsnets[0].specifier == series
    assert obsnets[0].specifier.contains(version)


@pytest.mark.parametrize("folder", FOLDERS)
def test_requirements_on_first_party_plugins_name_built_distributions(built, folder):
    versions = {b.name: Version(b.metadata["Version"]) for b in _first_party(built).values()}
    extras = built[folder].metadata.get_all("Provides-Extra") or []
    for extra in [None, *extras]:
        for requirement in built[folder].requirements(extra):
            if requirement.name.startswith("obsnets-"):
                assert requirement.name in versions, (folder, extra, requirement)
                v = versions[requirement.name]
                assert requirement.specifier == SpecifierSet(
                    f">={v.major}.{v.minor},<{v.major}.{v.minor + 1}"
                )


def test_obsnets_all_installs_every_first_party_plugin(built):
    assert "all" in built[ROOT].metadata.get_all("Provides-Extra")
    wanted = {b.name for b in _first_party(built).values()}
    assert {r.name for r in built[ROOT].requirements("all")} == wanted
    assert len(wanted) == len(PLUGINS) >= 10


def test_plugin_extras(built):
    timm = built["plugins/timm"]
    assert timm.name == "obsnets-timm"
    assert {r.name for r in timm.requirements("visual")} == {"obsnets-visual"}
    robomimic = built["plugins/robomimic"]
    assert robomimic.name == "obsnets-robomimic"
    # Every plugin a robomimic checkpoint or config can name: all but itself and timm's.
    everything = {b.name for b in _first_party(built).values()}
    wanted = everything - {"obsnets-robomimic", "obsnets-timm"}
    assert {r.name for r in robomimic.requirements("all")} == wanted


# -- one source for the version -------------------------------------------------------------------

LITERAL_VERSION = re.compile(r"""^__version__\s*(?::\s*str\s*)?=\s*["']""", re.MULTILINE)


@pytest.mark.parametrize("folder", ALL)
def test_the_version_is_written_only_in_the_pyproject(built, folder):
    wheel = built[folder]
    package = wheel.package
    assert package in (wheel.dist_info("top_level.txt") or "").split()
    init = wheel.files[f"{package}/__init__.py"]
    assert re.search(rf"""metadata\.version\(["']{re.escape(wheel.name)}["']\)""", init)
    literals = [
        n for n, t in wheel.files.items() if n.endswith(".py") and LITERAL_VERSION.search(t)
    ]
    assert literals == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_dunder_version_is_the_built_version(built, folder):
    wheel = built[folder]
    try:
        installed = metadata.version(wheel.name)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{wheel.name} is not installed here: make install")
    module = importlib.import_module(wheel.package)
    assert module.__version__ == installed == wheel.metadata["Version"], (
        f"{wheel.name}: re-install it (make install) after changing its version"
    )


# -- the README as an index page shows it ---------------------------------------------------------

FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK_TARGETS = re.compile(
    r"""\]\(\s*<?([^)\s>]+)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$|(?:href|src)=["']([^"']+)""",
    re.MULTILINE,
)
ABSOLUTE = re.compile(r"(https?://|mailto:|#)")
EDITABLE = re.compile(r"pip\s+install\b[^\n]*?\s(?:-e|--editable)\b")


def link_targets(markdown: str) -> list[str]:
    """Every link and image target outside code, inline, reference-style or HTML."""
    prose = INLINE_CODE.sub("", FENCED.sub("", markdown))
    return [next(g for g in m.groups() if g) for m in LINK_TARGETS.finditer(prose)]


def test_link_targets_are_found_in_every_form():
    markdown = (
        "See [the guide](docs/guide.md), ![logo](img/logo.png) and [home][1].\n\n"
        '[1]: ../README.md\n<a href="CHANGELOG.md">log</a> [web](https://x.org/a) `[x](y)`\n'
        "```python\nnet[0](x)\n```\n"
    )
    assert link_targets(markdown) == [
        "docs/guide.md",
        "img/logo.png",
        "../README.md",
        "CHANGELOG.md",
        "https://x.org/a",
    ]
    assert EDITABLE.search("python -m pip install -e plugins/visual")
    assert EDITABLE.search('pip install --editable ".[test]"')
    assert not EDITABLE.search("pip install obsnets-edges  # -> then obsnets plugins")


@pytest.mark.parametrize("folder", ALL)
def test_the_readme_works_on_an_index_page(built, folder):
    wheel = built[folder]
    assert wheel.metadata["Description-Content-Type"] == "text/markdown"
    assert wheel.description.startswith(f"# {wheel.name}\n")
    relative = [t for t in link_targets(wheel.description) if not ABSOLUTE.match(t)]
    assert relative == [], f"{wheel.name}'s README links into the repository"
    assert EDITABLE.findall(wheel.description) == []


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS)
def test_a_plugin_readme_starts_with_its_pip_install(built, folder):
    wheel = built[folder]
    first_block = FENCED.search(wheel.description)
    assert first_block is not None
    first_command = first_block.group().splitlines()[1]
    assert re.match(rf"(python -m )?pip install {re.escape(wheel.name)}(\s|$)", first_command)


# -- building -------------------------------------------------------------------------------------


def test_the_root_sdist_holds_what_an_index_and_a_build_need(built, sdist):
    # The root wheel, checked throughout this module, was built from this sdist alone.
    assert built[ROOT].name == "obsnets"
    assert sdist["LICENSE"] == (REPO / "LICENSE").read_text()
    assert sdist["README.md"] == (REPO / "README.md").read_text()
    assert "pyproject.toml" in sdist
    info = email.parser.Parser().parsestr(sdist["PKG-INFO"])
    assert (info["Name"], info["Version"]) == ("obsnets", built[ROOT].metadata["Version"])
    assert info["License-Expression"] == "MIT"
    assert info.get_all("License-File") == ["LICENSE"]
    packaged = {n.removeprefix("core/") for n in sdist if n.endswith(".py")}
    in_wheel = {n for n in built[ROOT].files if n.endswith(".py")}
    assert in_wheel <= packaged


@pytest.mark.parametrize("folder", ALL)
def test_the_build_requirement_admits_the_licence_fields(built, folder):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((built[folder].source / "pyproject.toml").read_text())
    requires = [Requirement(r) for r in pyproject["build-system"]["requires"]]
    setuptools = next(r for r in requires if r.name == "setuptools")
    below = Version(f"{SETUPTOOLS_FLOOR.major - 1}.99")
    assert not setuptools.specifier.contains(below, prereleases=True), setuptools
    # and the setuptools that built every wheel above satisfies it
    assert setuptools.specifier.contains(metadata.version("setuptools"))
