"""Moved to :mod:`dregtui.oci.models`; this old name is the same module (for old imports)."""

import sys

from dregtui.oci import models

sys.modules[__name__] = models
