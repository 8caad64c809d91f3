"""`weir subscriptions add|ls|rm`: the webhook subscriptions of a running server's alerts."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import Client, url_option
from weir.commands.output import cell, err


@click.group()
def subscriptions() -> None:
    """Webhook subscriptions: where alert notifications are POSTed."""


@subscriptions.command("add")
@click.argument("url_to_post")
@click.option("--name", default="", help="A name to recognise it by.")
@click.option("--filter", "filter_policy", default=None,
              help='SNS filter policy as JSON, e.g. \'{"severity": ["critical"]}\'.')
@click.option("--secret", default=None, help="At least 16 characters: each POST is signed (X-Weir-Signature).")
@click.option("--timeout", type=click.FloatRange(0, 60, min_open=True), default=None,
              help="Seconds to wait for the webhook (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def add(url_to_post: str, name: str, filter_policy: str | None, secret: str | None, timeout: float | None,
        as_json: bool, url: str, api_key: str | None) -> None:
    """Subscribe URL_TO_POST to alert notifications; prints the subscription's id."""
    body: dict = {"url": url_to_post, "name": name}
    if filter_policy is not None:
        try:
            body["filter_policy"] = json.loads(filter_policy)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--filter") from None
    if secret is not None:
        body["secret"] = secret
    if timeout is not None:
        body["timeout"] = timeout
    sub = Client(url, api_key=api_key).call("POST", "/subscriptions", body)
    if as_json:
        click.echo(json.dumps(sub, indent=2))
        return
    err.print("created subscription", cell(f"{sub['id']} → {sub['url']}"))
    click.echo(sub["id"])


@subscriptions.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def ls(as_json: bool, url: str, api_key: str | None) -> None:
    """List subscriptions, from the API and from `weir serve --config`, with their last delivery."""
    subs = Client(url, api_key=api_key).call("GET", "/subscriptions")["subscriptions"]
    if as_json:
        click.echo(json.dumps(subs, indent=2))
        return
    table = Table("id", "name", "url", "filter", "source", "last delivery", box=None)
    for s in subs:
        last = s.get("last_delivery") or {}
        table.add_row(cell(s["id"]), cell(s["name"]), cell(s["url"]),
                      cell(json.dumps(s["filter_policy"]) if s["filter_policy"] else ""), s["source"],
                      cell(last.get("status", "")))
    Console().print(table)
    if not subs:
        err.print("no subscriptions; add one with `weir subscriptions add URL`")


@subscriptions.command("rm")
@click.argument("sub_id")
@url_option
def rm(sub_id: str, url: str, api_key: str | None) -> None:
    """Delete subscription SUB_ID (those from the config file stay until it changes)."""
    Client(url, api_key=api_key).call("DELETE", f"/subscriptions/{sub_id}")
    err.print("deleted subscription", cell(sub_id))
