"""The paper's attack: VizPert generators and their training."""
from .attack import VizPert
from .generator import ClassGenerator, GeneratorConfig, ImageGenerator, build_generator

__all__ = ["ClassGenerator", "GeneratorConfig", "ImageGenerator", "VizPert", "build_generator"]
