"""dregtui: a terminal browser and safe cleanup tool for Docker Registry v2 / OCI registries."""

__version__ = "0.1.0"
