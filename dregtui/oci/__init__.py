"""OCI and Docker distribution facts with no HTTP: media types, manifest models, digests.

- :mod:`dregtui.oci.mediatypes`: the manifest and layer media types, the Accept header.
- :mod:`dregtui.oci.models`: ``Manifest``, ``Descriptor``, ``ImageConfig``, ``ManifestRef``.
- :mod:`dregtui.oci.digests`: the digest grammar, hashing and verifying bodies.
"""
