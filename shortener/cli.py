"""`flask --app application links …`: what an operator does from a shell."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shortener.links import get_link, set_disabled, short_url

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


def register_cli(app: Flask) -> None:
    app.cli.add_command(links_cli)
