"""A real registry that a test may SIGKILL and restart on the same storage dir and port.

reg = KillableRegistry().start()
reg.kill()        # SIGKILL, no shutdown
reg.revive()      # same workdir (storage) and port
snapshot(reg.url) # {repo: {tag: digest}} through the registry API
"""

from __future__ import annotations

import signal

from dregtui.demo.server import LocalRegistry
from dregtui.registry.client import RegistryClient


class KillableRegistry(LocalRegistry):
    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def revive(self) -> KillableRegistry:
        self.kill()
        self.start()
        return self


def snapshot(url: str) -> dict[str, dict[str, str]]:
    """Every repository's tags and their digests, as the registry answers now."""
    out: dict[str, dict[str, str]] = {}
    with RegistryClient(url) as c:
        for repo in c.list_repositories():
            tags = {}
            for tag in c.list_tags(repo):
                ref = c.head_manifest(repo, tag)
                if ref is not None:
                    tags[tag] = ref.digest
            if tags:
                out[repo] = tags
    return out
