"""The Textual front end of dregtui (the only package that imports textual or rich)."""
