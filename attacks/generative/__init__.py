"""The generative-attack family beside VizPert: gap, cda, bia, ttp (`family`), one training loop
(`base`) and one image-to-image generator (`networks`). VizPert keeps its own generator."""
from .base import GenerativeAttack
from .family import BIA, CDA, GAP, TTP

GENERATIVE = (GAP, CDA, BIA, TTP)

__all__ = ["BIA", "CDA", "GAP", "GENERATIVE", "GenerativeAttack", "TTP"]
