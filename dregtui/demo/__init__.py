"""A local registry with sample images, for ``dregtui demo`` and the test suite."""
