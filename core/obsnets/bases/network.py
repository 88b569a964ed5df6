"""``NetworkBase`` and ``PriorBase``: bases of whole networks and of VAE priors."""

from __future__ import annotations

from typing import ClassVar

from obsnets.bases.module import Module

__all__ = ["NetworkBase", "PriorBase"]


class NetworkBase(Module, abstract=True):
    """A complete network a config can name at top level (kind ``network``).

    The MIMO wrappers, observation encoders and the policy, value and VAE families derive from
    it, so ``{"class": "GMMActorNetwork", "kwargs": {...}}`` builds through the registry.
    """

    component_kind: ClassVar[str | None] = "network"


class PriorBase(Module, abstract=True):
    """A latent prior for a VAE (kind ``prior``): ``sample``, ``kl_loss`` and ``forward``."""

    component_kind: ClassVar[str | None] = "prior"
