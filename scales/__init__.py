"""Versioned scale definitions: the schema, the loader and the bundled YAML files."""

from scales.loader import (
    BUNDLED_DIR,
    ScaleFileError,
    ScaleProblem,
    ScaleRegistry,
    UnknownScaleError,
    load_registry,
    load_scale_file,
    parse_scale_text,
)
from scales.schema import Compute, Item, Scale, Subscale, TotalMethod

__all__ = [
    "BUNDLED_DIR",
    "Compute",
    "Item",
    "Scale",
    "ScaleFileError",
    "ScaleProblem",
    "ScaleRegistry",
    "Subscale",
    "TotalMethod",
    "UnknownScaleError",
    "load_registry",
    "load_scale_file",
    "parse_scale_text",
]
