"""TimmConv keeps the obsnets component contract (obsnets.testing) across timm families.

The project-wide suite (tests/test_conformance.py) runs timm's ``test_resnet``; these cases
add the families whose trunks differ: ConvNeXt (patchify stem, rounds sizes down), MobileNetV3
(its own feature class, an inner level), Swin (channels-last features), and a trunk loaded
from a local checkpoint (rebuilt from its recorded arguments, so the file is read again).
"""

from __future__ import annotations

import pytest
import timm
import torch
from safetensors.torch import save_file

from obsnets.testing import ConformanceCase, conformance_params, run_check

PROVIDER = "obsnets-timm"
TINY_SWIN = {
    "img_size": 32,
    "embed_dim": 16,
    "depths": (1, 1, 1, 1),
    "num_heads": (1, 1, 1, 1),
    "window_size": 2,
}


def checkpoint_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("timm") / "convnext_atto.safetensors"
    save_file(timm.create_model("convnext_atto").state_dict(), str(path))
    return str(path)


def cases(pretrained: str) -> list[ConformanceCase]:
    return [
        ConformanceCase(
            "TimmConv",
            kwargs={"model_name": "convnext_atto"},
            input_shapes=[(3, 32, 32), (3, 40, 36)],
            kind="backbone",
            provider=PROVIDER,
            id="convnext_atto",
        ),
        ConformanceCase(
            "TimmConv",
            kwargs={"model_name": "mobilenetv3_small_050", "out_index": 2, "input_channel": 2},
            input_shapes=[(2, 32, 32), (2, 27, 45)],
            kind="backbone",
            provider=PROVIDER,
            id="mobilenetv3_small_050-level2",
        ),
        ConformanceCase(
            "TimmConv",
            kwargs={"model_name": "swin_tiny_patch4_window7_224", "model_kwargs": TINY_SWIN},
            input_shapes=[(3, 32, 32)],
            kind="backbone",
            provider=PROVIDER,
            id="tiny_swin_nhwc",
        ),
        ConformanceCase(
            "TimmConv",
            kwargs={"model_name": "convnext_atto", "pretrained": pretrained, "out_index": 1},
            input_shapes=[(3, 32, 32)],
            kind="backbone",
            provider=PROVIDER,
            id="convnext_atto-pretrained",
        ),
    ]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny forwards: one thread avoids thread hand-offs that dominate on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pretrained_file(tmp_path_factory):
    return checkpoint_file(tmp_path_factory)


@pytest.mark.parametrize(
    "case_and_check",
    conformance_params(cases("{pretrained}")),
)
def test_conformance(case_and_check, pretrained_file):
    case, check = case_and_check
    kwargs = {k: (pretrained_file if v == "{pretrained}" else v) for k, v in case.kwargs.items()}
    run_check(
        ConformanceCase(
            case.component,
            kwargs=kwargs,
            input_shapes=case.input_shapes,
            kind=case.kind,
            provider=case.provider,
            unused_parameters=case.unused_parameters,
            id=case.id,
        ),
        check,
    )
