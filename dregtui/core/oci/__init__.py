"""OCI and Docker distribution facts with no HTTP: media types, manifest models, digests.

- :mod:`dregtui.core.oci.mediatypes`: the manifest and layer media types, the Accept header.
- :mod:`dregtui.core.oci.models`: ``Manifest``, ``Descriptor``, ``ImageConfig``, ``ManifestRef``.
- :mod:`dregtui.core.oci.digests`: the digest grammar, hashing and verifying bodies.
"""
