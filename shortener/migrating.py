"""`flask db …` (Flask-Migrate) without loading Alembic into every web worker.

Flask-Migrate imports Alembic as soon as it is imported, which adds about 10 MB to each
gunicorn worker that never runs a migration. This binds the same commands and the same
`app.extensions["migrate"]` lazily: Alembic is imported when a `flask db` command (or a
test calling flask_migrate.upgrade) first needs it.
"""

from __future__ import annotations

import click
from flask import Flask, g
from flask.cli import with_appcontext
from flask_sqlalchemy import SQLAlchemy


class LazyMigrateConfig:
    """What Flask-Migrate keeps in app.extensions["migrate"], built on first use."""

    def __init__(self, db: SQLAlchemy, directory: str) -> None:
        self.db = db
        self.directory = directory
        # Flask-Migrate's defaults, which migrations/env.py passes to Alembic.
        self.configure_args = {"compare_type": True, "render_as_batch": True}
        self._migrate = None

    @property
    def migrate(self):
        if self._migrate is None:
            from flask_migrate import Migrate

            self._migrate = Migrate(db=self.db, directory=self.directory)
        return self._migrate

    @property
    def metadata(self):
        return self.db.metadata


class LazyMigrateCommands(click.Group):
    """The `flask db` command group, loaded from Flask-Migrate when it is used."""

    @staticmethod
    def _commands() -> click.Group:
        from flask_migrate.cli import db as commands

        return commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._commands().get_command(ctx, name)


@click.group("db", cls=LazyMigrateCommands)
@click.option("-d", "--directory", default=None, help="Migration script directory")
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments for env.py")
@with_appcontext
def migrate_commands(directory: str | None, x_arg: tuple[str, ...]) -> None:
    """Perform database migrations."""
    # What Flask-Migrate's own group does: its commands read these from g.
    g.directory = directory
    g.x_arg = x_arg


def init_migrations(app: Flask, db: SQLAlchemy, directory: str) -> None:
    """Bind `flask db` and the migrations directory to `app`, as Migrate.init_app does."""
    app.extensions["migrate"] = LazyMigrateConfig(db, directory)
    app.cli.add_command(migrate_commands)
