"""Every setting in one place, read from the environment; production fails fast."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

from shortener.targets import blocked_domains

DEFAULT_RATE_LIMIT_CREATE = "30/minute"
# Requests ending in 404 per client: a person's typos stay far below it, a scan does not.
DEFAULT_RATE_LIMIT_NOT_FOUND = "60/minute"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app (raised at start, never later)."""


def database_url(environ: dict[str, str], instance_path: Path) -> str:
    """DATABASE_URL, else EB's RDS_* variables, else SQLite in the instance folder."""
    url = environ.get("DATABASE_URL", "").strip()
    if not url and environ.get("RDS_HOSTNAME"):
        user = quote(environ.get("RDS_USERNAME", ""), safe="")
        password = quote(environ.get("RDS_PASSWORD", ""), safe="")
        url = (
            f"postgresql://{user}:{password}@{environ['RDS_HOSTNAME']}:"
            f"{environ.get('RDS_PORT', '5432')}/{environ.get('RDS_DB_NAME', 'ebdb')}"
        )
    if not url:
        return f"sqlite:///{instance_path / 'shortener.db'}"
    # SQLAlchemy wants the driver named; EB and Heroku-style URLs do not name it.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def secret_key(environ: dict[str, str], instance_path: Path, production: bool) -> str:
    """SECRET_KEY; outside production, one generated once and kept in the instance folder."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set in production")
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def not_found_limit(environ: dict[str, str]) -> str:
    """RATE_LIMIT_NOT_FOUND, checked now so that a typo stops the app at start."""
    from shortener.misslimit import parse_limit

    raw = environ.get("RATE_LIMIT_NOT_FOUND", DEFAULT_RATE_LIMIT_NOT_FOUND)
    try:
        parse_limit(raw)
    except ValueError as exc:
        raise ConfigError(
            f"RATE_LIMIT_NOT_FOUND must be a rate like 60/minute, or off; not {raw!r}"
        ) from exc
    return raw


def storage_options(storage_uri: str) -> dict:
    """Connection settings for the rate-limit storage: Redis gets a second to answer."""
    if storage_uri.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": 1, "socket_timeout": 1}
    return {}


def blocklist(environ: dict[str, str]) -> frozenset[str]:
    """BLOCKED_DOMAINS (comma- or space-separated) and the lines of BLOCKED_DOMAINS_FILE."""
    entries = environ.get("BLOCKED_DOMAINS", "").replace(",", " ").split()
    path = environ.get("BLOCKED_DOMAINS_FILE", "").strip()
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"BLOCKED_DOMAINS_FILE cannot be read: {exc}") from exc
        entries += [line.split("#", 1)[0] for line in lines]
    try:
        return blocked_domains(entries)
    except ValueError as exc:
        raise ConfigError(f"BLOCKED_DOMAINS: {exc}") from exc


def from_environment(instance_path: Path, environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if environ is None else environ)
    production = env.get("APP_ENV", "development").lower() == "production"
    port = _int(env, "PORT", 8000)
    base_url = env.get("BASE_URL", "").strip().rstrip("/")
    if not base_url:
        if production:
            raise ConfigError("BASE_URL must be set in production (the public origin of links)")
        base_url = f"http://127.0.0.1:{port}"
    redirect_status = _int(env, "REDIRECT_STATUS", 302)
    if redirect_status not in (301, 302, 303, 307, 308):
        raise ConfigError(f"REDIRECT_STATUS must be a redirect status, not {redirect_status}")
    max_upload_mb = _int(env, "MAX_UPLOAD_MB", 10)
    storage_uri = env.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
    return {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key(env, instance_path, production),
        "SQLALCHEMY_DATABASE_URI": database_url(env, instance_path),
        "BASE_URL": base_url,
        "ADMIN_TOKEN": env.get("ADMIN_TOKEN", ""),
        "REDIRECT_STATUS": redirect_status,
        "MAX_UPLOAD_BYTES": max_upload_mb * 1024 * 1024,
        # Leave room for the form's other fields around a file of the maximum size.
        "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024 + 64 * 1024,
        # Domains (and their subdomains) never shortened, and answered 410 once blocked.
        "BLOCKED_DOMAINS": blocklist(env),
        "RATE_LIMIT_CREATE": env.get("RATE_LIMIT_CREATE", DEFAULT_RATE_LIMIT_CREATE),
        "RATE_LIMIT_NOT_FOUND": not_found_limit(env),
        "RATELIMIT_STORAGE_URI": storage_uri,
        # Keeps apart the counters of environments that share one Redis.
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "").strip(),
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") != "0",
        # Redis away must not fail requests: bounded waits on it, and meanwhile each
        # process limits on its own (Flask-Limiter's in-memory fallback).
        "RATELIMIT_STORAGE_OPTIONS": storage_options(storage_uri),
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Proxies in front whose X-Forwarded-For entries are trusted (werkzeug's ProxyFix):
        # 0 with nothing in front (make run), 1 behind one nginx, 2 on EB (ALB + nginx).
        "PROXY_HOPS": _int(env, "PROXY_HOPS", 0),
        "VISIT_FLUSH_SECONDS": float(env.get("VISIT_FLUSH_SECONDS", "2")),
        "DB_CONNECT_TIMEOUT": _int(env, "DB_CONNECT_TIMEOUT", 3),
        "DB_STATEMENT_TIMEOUT_MS": _int(env, "DB_STATEMENT_TIMEOUT_MS", 5000),
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 365,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session; an old open tab still works
    }
