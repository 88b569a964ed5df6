"""The model card (README.md) written beside a saved model, as the Hugging Face Hub shows it.

The card is generated from the saved config alone: front matter the Hub reads
(``library_name: obsnets`` and tags), then the network, every component it is built from
(qualified names), the distributions and versions it was saved with, the ``pip install`` line
and how to load it from a local folder or from the Hub. Loading never reads the card.

The front matter is YAML written by hand: every string is a JSON string, which YAML reads as a
double-quoted scalar, so no name can break it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["BASE_TAGS", "MODEL_CARD_FILE", "render_model_card"]

MODEL_CARD_FILE = "README.md"
BASE_TAGS = ("obsnets", "robotics", "robot-learning")
"""Tags every card has; the network's name and its plugin distributions follow."""


def render_model_card(config: Mapping[str, Any], repo_id: str | None = None) -> str:
    """Return README.md for the saved model whose config.json is ``config``.

    Args:
        config: A checked saved config (:func:`obsnets.saving.read_saved_config`): its
            ``component``, ``components`` and ``requires`` are used.
        repo_id: The Hub repository (``"org/name"``) the card is for; ``None`` writes a
            placeholder in the ``hf://`` load example.

    Returns:
        The card's text: YAML front matter, then Markdown.
    """
    component = config["component"]
    requires: Mapping[str, str | None] = config["requires"]
    tags = [*BASE_TAGS, component["name"], *(d for d in requires if d not in BASE_TAGS)]
    hub_name = repo_id if repo_id is not None else "ORG/NAME"
    lines = [
        "---",
        f"library_name: {_scalar('obsnets')}",
        "tags:",
        *(f"- {_scalar(tag)}" for tag in dict.fromkeys(tags)),
        "---",
        "",
        f"# {component['name']}",
        "",
        f"An [obsnets](https://pypi.org/project/obsnets/) {component['kind']}, "
        f"`{component['qualified_name']}`, saved with `save_pretrained`: `config.json` names "
        f"every component and its arguments, `model.safetensors` holds the weights. Loading "
        f"rebuilds it by name from installed plugins; nothing in this repository is run.",
        "",
        "## Install",
        "",
        "```bash",
        "pip install " + " ".join(_install_names(requires)),
        "```",
        "",
        "Saved with:",
        "",
        "| distribution | version |",
        "| --- | --- |",
        *(f"| `{d}` | {v if v is not None else 'unknown'} |" for d, v in requires.items()),
        "",
        "## Load",
        "",
        "```python",
        "import obsnets",
        "",
        f'model = obsnets.load("hf://{hub_name}")  # from the Hugging Face Hub',
        'model = obsnets.load("path/to/folder")  # from a local copy of this repository',
        "```",
        "",
        "The model is returned in eval mode; call `model.train()` to fine-tune it.",
        "",
        "## Components",
        "",
        "| kind | name | qualified name |",
        "| --- | --- | --- |",
        *(
            f"| {c['kind']} | `{c['name']}` | `{c['qualified_name']}` |"
            for c in config["components"]
        ),
        "",
    ]
    return "\n".join(lines)


def _install_names(requires: Mapping[str, str | None]) -> list[str]:
    # The hub extra is what lets the reader load by hf://.
    return ['"obsnets[hub]"' if d == "obsnets" else d for d in requires]


def _scalar(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)
