"""The model card (README.md) save_pretrained writes, read the way the Hugging Face Hub reads it."""

from __future__ import annotations

from importlib import metadata

import pytest
import torch
from huggingface_hub import ModelCard

from obsnets import ConfigError, ObservationDecoder
from obsnets.model_card import MODEL_CARD_FILE, render_model_card
from obsnets.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load,
    read_saved_config,
    save_pretrained,
)


def _decoder(seed: int = 0) -> ObservationDecoder:
    torch.manual_seed(seed)
    return ObservationDecoder({"a": [3], "b": [2, 2]}, input_feat_dim=8)


def test_save_pretrained_writes_a_card_the_hub_reads(tmp_path):
    save_pretrained(_decoder(), tmp_path / "model")
    card = ModelCard.load(tmp_path / "model" / MODEL_CARD_FILE)
    assert card.data.library_name == "obsnets"
    assert card.data.tags == [
        "obsnets",
        "robotics",
        "robot-learning",
        "ObservationDecoder",
    ]
    config = read_saved_config(tmp_path / "model")
    assert config["requires"] == {"obsnets": metadata.version("obsnets")}
    text = card.text
    assert text.startswith("\n# ObservationDecoder\n")
    assert "`obsnets.encoders.observation_decoder:ObservationDecoder`" in text
    for component in config["components"]:  # every component, by qualified name
        assert f"| `{component['name']}` | `{component['qualified_name']}` |" in text
    assert f"| `obsnets` | {metadata.version('obsnets')} |" in text
    assert 'pip install "obsnets[hub]"\n' in text
    assert 'obsnets.load("hf://ORG/NAME")' in text
    assert 'obsnets.load("path/to/folder")' in text


def test_plugin_distributions_are_tagged_and_installed(tmp_path):
    config = {
        "component": {
            "name": "VisualCore",
            "kind": "encoder_core",
            "qualified_name": "obsnets_visual.visual_core:VisualCore",
        },
        "components": [
            {
                "kind": "encoder_core",
                "name": "VisualCore",
                "qualified_name": "obsnets_visual.visual_core:VisualCore",
            }
        ],
        "requires": {"obsnets": "0.1.0", "obsnets-visual": None},
    }
    path = tmp_path / MODEL_CARD_FILE
    path.write_text(render_model_card(config, repo_id="my-lab/visual"))
    card = ModelCard.load(path)
    assert card.data.tags == [
        "obsnets",
        "robotics",
        "robot-learning",
        "VisualCore",
        "obsnets-visual",
    ]
    assert 'pip install "obsnets[hub]" obsnets-visual\n' in card.text
    assert "| `obsnets-visual` | unknown |" in card.text
    assert 'obsnets.load("hf://my-lab/visual")' in card.text


@pytest.mark.parametrize(
    "name", ['Quote"Net', "Colon: Net", "#Hash", "- dash", "new\nline", "tab\tand ünïcode"]
)
def test_front_matter_keeps_any_name_intact(tmp_path, name):
    config = {
        "component": {"name": name, "kind": "network", "qualified_name": "m:X"},
        "components": [],
        "requires": {"obsnets": "0.1.0"},
    }
    path = tmp_path / MODEL_CARD_FILE
    path.write_text(render_model_card(config), encoding="utf-8")
    assert ModelCard.load(path).data.tags[-1] == name


def test_a_folder_without_a_card_loads_and_is_replaced_as_ours(tmp_path):
    target = tmp_path / "model"
    save_pretrained(_decoder(0), target)
    (target / MODEL_CARD_FILE).unlink()  # as older versions saved it
    loaded = load(target)
    assert torch.equal(loaded.nets["a"].weight, _decoder(0).nets["a"].weight)
    save_pretrained(_decoder(1), target)
    assert {p.name for p in target.iterdir()} == {CONFIG_FILE, MODEL_CARD_FILE, WEIGHTS_FILE}
    save_pretrained(_decoder(2), target)  # no overwrite=True needed: the card is ours too
    assert torch.equal(load(target).nets["a"].weight, _decoder(2).nets["a"].weight)


def test_a_readme_beside_something_else_is_not_ours(tmp_path):
    target = tmp_path / "project"
    target.mkdir()
    (target / MODEL_CARD_FILE).write_text("# my project\n")
    with pytest.raises(ConfigError, match=r"not part of an obsnets saved model: \['README.md'\]"):
        save_pretrained(_decoder(), target)
    assert (target / MODEL_CARD_FILE).read_text() == "# my project\n"
