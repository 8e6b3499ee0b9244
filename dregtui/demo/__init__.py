"""A local registry with sample images, for ``dregtui demo`` and the test suite.

- :mod:`dregtui.demo.server`: :class:`LocalRegistry` (a real ``docker-registry`` process).
- :mod:`dregtui.demo.images`: :class:`ImagePusher` (synthetic images through the HTTP API).
- :mod:`dregtui.demo.sample`: :func:`populate` (the demo's sample content).
"""
