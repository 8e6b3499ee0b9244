"""Local state: the config file and settings, the scan cache, the deletion journal, and the
bounded reading of the files a user hands over."""
