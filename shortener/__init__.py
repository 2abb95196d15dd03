"""The URL shortener web app: create_app() builds it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from shortener import config as settings
from shortener.buildinfo import load_build_info
from shortener.codes import ROUTABLE_PATTERN
from shortener.database import engine_options
from shortener.extensions import csrf, db, limiter
from shortener.fastpath import RedirectFastPath
from shortener.migrating import init_migrations
from shortener.misslimit import MissLimit, parse_limit
from shortener.visits import visits

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class CodeConverter(BaseConverter):
    """Matches only strings that can be codes, so /static, /api/… never reach a link lookup."""

    regex = ROUTABLE_PATTERN


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` (tests) on top."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings.from_environment(Path(app.instance_path)))
    app.config.update(config or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS",
        engine_options(
            app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["DB_CONNECT_TIMEOUT"],
            app.config["DB_STATEMENT_TIMEOUT_MS"],
        ),
    )
    app.config["BUILD_INFO"] = load_build_info(ROOT)
    app.url_map.converters["code"] = CodeConverter

    register_extensions(app)
    register_blueprints(app)
    register_handlers(app)
    # Active URL links are answered before Flask's request machinery (see fastpath.py).
    flask_wsgi_app = app.wsgi_app
    app.wsgi_app = RedirectFastPath(app, flask_wsgi_app)
    # Around both: every 404 counts against its client, and a scanner is refused (429) by
    # Flask itself, before the fast path would look its next code up (see misslimit.py).
    if app.config["RATELIMIT_ENABLED"] and parse_limit(app.config["RATE_LIMIT_NOT_FOUND"]):
        app.wsgi_app = MissLimit(app, app.wsgi_app, refuse_app=flask_wsgi_app)
    if app.config["PROXY_HOPS"]:
        # The client is the address the outermost trusted proxy saw; anything a client
        # wrote into X-Forwarded-For itself sits further left and is ignored.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    init_migrations(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    limiter.init_app(app)
    visits.init_app(app)


def register_blueprints(app: Flask) -> None:
    from shortener.views import api, ops, pages, redirects

    app.register_blueprint(ops.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    # The catch-all /<code> goes last so it can never shadow another route.
    app.register_blueprint(redirects.bp)


def register_handlers(app: Flask) -> None:
    from shortener.cli import register_cli
    from shortener.errors import register_error_handlers
    from shortener.observability import register_observability
    from shortener.security import register_security_headers

    register_error_handlers(app)
    register_security_headers(app)
    register_observability(app)
    register_cli(app)
