"""The plugin module is light, diffusers is imported only for a scheduler, names resolve."""

from __future__ import annotations

import subprocess
import sys

import pytest

import obsnets_diffusion
from obsnets.registry import list_components, resolve_component
from obsnets_diffusion.plugin import COMPONENTS


def _run(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


def test_importing_the_plugin_imports_no_component_module_and_not_diffusers() -> None:
    out = _run(
        "import sys, obsnets_diffusion.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('obsnets_diffusion.')"
        " and m != 'obsnets_diffusion.plugin'))\n"
        "print('diffusers' in sys.modules)\n"
    )
    assert out[:2] == ["[]", "False"]


def test_diffusers_is_imported_when_a_scheduler_is_built_not_for_the_unet() -> None:
    out = _run(
        "import sys\n"
        "from obsnets import build_component\n"
        "unet = build_component('ConditionalUnet1D', {'input_dim': 2, 'global_cond_dim': 3,"
        " 'diffusion_step_embed_dim': 8, 'down_dims': [8]})\n"
        "print('diffusers' in sys.modules)\n"
        "from obsnets_diffusion import build_noise_scheduler\n"
        "scheduler = build_noise_scheduler('test', 'DDIM', None)\n"
        "print('diffusers' in sys.modules, type(scheduler).__name__)\n"
    )
    assert out[:2] == ["False", "True DDIMScheduler"]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_resolves_by_name_to_the_declared_class(name: str) -> None:
    kind, target = COMPONENTS[name]
    cls = resolve_component(name, kind)
    module, _, attribute = target.partition(":")
    assert cls.__module__ == module and cls.__name__ == attribute == name
    assert getattr(obsnets_diffusion, name) is cls


def test_components_are_listed_as_networks_from_this_distribution() -> None:
    listed = {entry.name: entry for entry in list_components(kind="network")}
    for name in COMPONENTS:
        assert listed[name].provider == "obsnets-diffusion"


def test_package_exports_the_blocks() -> None:
    from obsnets_diffusion.conv1d_blocks import ConditionalResidualBlock1D

    assert obsnets_diffusion.ConditionalResidualBlock1D is ConditionalResidualBlock1D
    blocks = {"ConditionalResidualBlock1D", "Conv1dBlock", "Downsample1d", "Upsample1d"}
    extra = blocks | {"SinusoidalPosEmb", "build_noise_scheduler"}
    assert set(obsnets_diffusion.__all__) == set(COMPONENTS) | extra
    assert all(getattr(obsnets_diffusion, n) is not None for n in obsnets_diffusion.__all__)


def test_the_core_catalog_names_this_distribution_for_its_components() -> None:
    # what lets an unknown-name error say `pip install obsnets-diffusion` when it is missing
    from obsnets.catalog import FIRST_PARTY_COMPONENTS, distribution_for

    assert set(FIRST_PARTY_COMPONENTS["obsnets-diffusion"]) == set(COMPONENTS)
    assert {distribution_for(name) for name in COMPONENTS} == {"obsnets-diffusion"}
