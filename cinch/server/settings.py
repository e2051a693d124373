"""What ``cinch serve`` can be told, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from cinch import LimitsConfig


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"  # loopback unless told otherwise: keys travel in clear over HTTP
    port: int = 8000
    cors_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 1024 * 1024
    rate_limit: float = 100.0  # requests per second per key; 0 switches it off
    rate_burst: int = 200
    auth_fail_limit: float = 5.0  # failed authentications per second per client address
    live_poll_seconds: float = 0.075
    max_live_subscriptions: int = 32
    # Query budget and size limits; None: the ``[limits]`` of cinch.toml on the branch checked
    # out when the server starts (a dict: those fields, as worker processes receive them).
    limits: LimitsConfig | dict[str, int] | None = None
    # The folder below which POST /databases/adopt may read files, and the only place where
    # it may adopt them in place (their files then written by change sets); None: any path
    # may be copied, none adopted in place.
    adopt_root: str | None = None

    def resolved_limits(self, committed: LimitsConfig) -> LimitsConfig:
        if self.limits is None:
            return committed
        if isinstance(self.limits, dict):
            return LimitsConfig.model_validate(self.limits)
        return self.limits
