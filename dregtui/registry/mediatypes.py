"""Moved to :mod:`dregtui.oci.mediatypes`; this old name is the same module (for old imports)."""

import sys

from dregtui.oci import mediatypes

sys.modules[__name__] = mediatypes
