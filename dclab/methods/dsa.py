"""DSA: DC with differentiable siamese augmentation (Zhao & Bilen, ICML 2021).

Same loop as DC; before matching, the real batch and the synthetic images of each class go
through the SAME random differentiable transform (mode "S": one op family per call, one draw per
class), and inner-loop training batches are augmented with independent draws per image.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from dclab.augment.dsa import draw_siamese, dsa_augment, resolve_dsa_strategy
from dclab.config import setting
from dclab.methods._base import METHODS
from dclab.methods.dc import DC, DCConfig


@dataclass(frozen=True)
class DSAConfig(DCConfig):
    dsa_strategy: str = setting("auto", "DSA ops ('auto' = the published strategy for the data set)")

    PRESETS: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "paper": {**DCConfig.PRESETS["paper"], "init": "real"},
        "cpu": DCConfig.PRESETS["cpu"],
        "classroom": DCConfig.PRESETS["classroom"],
    }
    PRESET_SOURCES: ClassVar[Mapping[str, str]] = {
        "paper": "authors' README command `python main.py --dataset CIFAR10 --model ConvNet --ipc 10 --init real "
                 "--method DSA --dsa_strategy color_crop_cutout_flip_scale_rotate` (1000 iterations, lr_img 0.1)",
        "cpu": DCConfig.PRESET_SOURCES["cpu"],
        "classroom": DCConfig.PRESET_SOURCES["classroom"],
    }


@METHODS.register("dsa")
class DSA(DC):
    """Gradient matching with siamese augmentation."""

    name = "dsa"
    config_class = DSAConfig
    description = "DSA (Zhao & Bilen 2021): gradient matching with differentiable siamese augmentation"
    config: DSAConfig

    @classmethod
    def published_protocol(cls, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
        return ({"net": "convnet", "epochs": 1000, "augment": "dsa"},
                "DSA paper (Zhao & Bilen, ICML 2021) Table 2; authors' main.py (--dsa: 1000 epochs with DSA)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dsa_strategy = resolve_dsa_strategy(self.config.dsa_strategy, self.data.name)

    def _augment_pair(self, real: Tensor, syn: Tensor) -> tuple[Tensor, Tensor]:
        return draw_siamese(self.dsa_strategy, real, syn, self.generator)

    def _augment_train(self, x: Tensor) -> Tensor:
        return dsa_augment(x, self.dsa_strategy, self.generator)
