"""The example third-party plugin, examples/plugins/shifts (obsnets-shifts), used by name.

``make install`` installs it (editable) with the first-party plugins; the fixture installs it
the same way when it is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import torch

from obsnets import plugins as discovery
from obsnets.config import build_from_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugins" / "shifts"


@pytest.fixture(scope="session")
def shifts_installed():
    try:
        metadata.distribution("obsnets-shifts")
    except metadata.PackageNotFoundError:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "-e",
                str(EXAMPLE),
            ],
            check=True,
        )
        discovery.reset()  # discovery may have run before the install
    return "obsnets-shifts"


def obsnets_cli(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSNETS_")}
    return subprocess.run(
        [sys.executable, "-m", "obsnets.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def config(randomizer_kwargs):
    """A policy-sized MIMO_MLP config whose image randomizer is the example plugin's."""
    rgb = {
        "core_class": "VisualCore",
        "core_kwargs": {
            "backbone_class": "ShallowConv",
            "pool_class": "SpatialSoftmax",
            "pool_kwargs": {"num_kp": 8},
            "feature_dimension": 16,
        },
    }
    if randomizer_kwargs is not None:
        rgb["obs_randomizer_class"] = "RandomShiftsRandomizer"
        rgb["obs_randomizer_kwargs"] = randomizer_kwargs
    return {
        "network": "MIMO_MLP",
        "kwargs": {
            "input_obs_group_shapes": {"obs": {"agentview_image": [3, 20, 20], "eef_pos": [3]}},
            "output_shapes": {"action": [4]},
            "layer_dims": [32],
            "encoder_kwargs": {"rgb": rgb},
        },
        "obs_modalities": {"rgb": ["agentview_image"], "low_dim": ["eef_pos"]},
    }


def inputs(batch_size=3):
    generator = torch.Generator().manual_seed(0)
    return {
        "obs": {
            "agentview_image": torch.rand(batch_size, 3, 20, 20, generator=generator),
            "eef_pos": torch.randn(batch_size, 3, generator=generator),
        }
    }


def test_obsnets_plugins_lists_the_example(shifts_installed):
    result = obsnets_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugin = next(p for p in json.loads(result.stdout) if p["name"] == "shifts")
    assert plugin["distribution"] == "obsnets-shifts" and plugin["status"] == "loaded"
    assert plugin["components"] == [{"kind": "randomizer", "name": "RandomShiftsRandomizer"}]
    described = obsnets_cli("describe", "RandomShiftsRandomizer")
    assert "provided by: obsnets-shifts" in described.stdout, described.stderr


def test_a_config_names_the_example_randomizer_and_it_shifts_only_in_training(shifts_installed):
    net = build_from_config(config({"pad": 2, "num_samples": 2}))
    encoder = net.nets["encoder"].nets["obs"]
    [randomizer] = encoder.obs_randomizers["agentview_image"]
    assert type(randomizer).__name__ == "RandomShiftsRandomizer"
    assert (randomizer.pad, randomizer.num_samples, randomizer.input_shape) == (2, 2, [3, 20, 20])

    # Eval: the randomizer is the identity, so the net equals the same net without it.
    plain = build_from_config(config(None))
    plain.load_state_dict(net.state_dict())  # a randomizer holds no parameters
    net.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(**inputs())["action"], plain(**inputs())["action"])
        # Training: every image is shifted, 2 copies each, and the outputs averaged.
        net.train()
        torch.manual_seed(0)
        shifted = net(**inputs())["action"]
    assert shifted.shape == (3, 4)
    assert not torch.allclose(shifted, plain(**inputs())["action"])


def test_no_shift_gives_the_unaugmented_output_in_training(shifts_installed):
    net = build_from_config(config({"pad": 0, "num_samples": 3})).train()
    plain = build_from_config(config(None)).train()
    plain.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(net(**inputs())["action"], plain(**inputs())["action"])


def test_the_example_plugins_own_tests_pass(shifts_installed):
    registered = any(ep.name == "obsnets" for ep in metadata.entry_points(group="pytest11"))
    # Its tests use obsnets' pytest plugin through the pytest11 entry point (checked in
    # test_conformance.py); without it, load it by hand so the rest is still checked.
    load = [] if registered else ["-p", "pytest_obsnets"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", *load],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_conformance[RandomShifts-3-copies-gradients] PASSED" in result.stdout
    assert "test_every_offset_from_minus_pad_to_plus_pad_is_drawn PASSED" in result.stdout
