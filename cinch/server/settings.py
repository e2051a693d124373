"""What ``cinch serve`` can be told, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    max_query_rows: int = 10_000
    max_batch_statements: int = 100
