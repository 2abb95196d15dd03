"""`flask --app application links …`: what an operator does from a shell."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shortener.extensions import db
from shortener.links import get_link, set_disabled, short_url
from shortener.readiness import schema_head, schema_is_ahead

links_cli = AppGroup("links", help="Inspect, disable or re-enable short links.")


@links_cli.command("disable")
@click.argument("code")
def disable(code: str) -> None:
    """Disable CODE: it answers 410 from then on (every worker within seconds)."""
    link = set_disabled(code, True)
    if link is None:
        raise click.ClickException(f"no link has the code {code!r}")
    click.echo(f"disabled {short_url(code)} -> {link.target_url or link.file.filename}")


@links_cli.command("enable")
@click.argument("code")
def enable(code: str) -> None:
    """Enable CODE again after it was disabled."""
    if set_disabled(code, False) is None:
        raise click.ClickException(f"no link has the code {code!r}")
    click.echo(f"enabled {short_url(code)}")


@links_cli.command("show")
@click.argument("code")
def show(code: str) -> None:
    """Print what CODE points to and its state."""
    link = get_link(code)
    if link is None:
        raise click.ClickException(f"no link has the code {code!r}")
    target = link.target_url or f"file {link.file.filename} ({link.file.size} bytes)"
    click.echo(f"{short_url(code)} -> {target}")
    created = f"{link.created_at:%Y-%m-%d %H:%M:%S} UTC"
    click.echo(f"state: {link.state()}  visits: {link.visits}  created: {created}")


schema_cli = AppGroup("schema", help="Migrate the database the way deploys do.")


@schema_cli.command("upgrade")
def schema_upgrade() -> None:
    """Migrate to this code's head; leave alone a schema a newer release migrated.

    Deploys (and rollbacks) run this instead of `flask db upgrade`, which stops on a
    revision it does not know: after a rollback the schema is the newer release's, and
    expand-then-contract migrations keep it usable by this code.
    """
    # Imported here: Alembic adds about 10 MB to a web worker that never migrates.
    from alembic.runtime.migration import MigrationContext
    from flask_migrate import upgrade

    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if schema_is_ahead(current):
        click.echo(f"schema is at {current}, ahead of this code's {schema_head()}: left as it is")
        return
    upgrade()
    click.echo(f"schema is at {schema_head()}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(links_cli)
    app.cli.add_command(schema_cli)
