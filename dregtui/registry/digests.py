"""Moved to :mod:`dregtui.oci.digests`; this old name is the same module (for old imports)."""

import sys

from dregtui.oci import digests

sys.modules[__name__] = digests
