"""The `weir` command: the group, and one module per subcommand in `weir.commands`."""

from __future__ import annotations

import click

from weir.commands.alerts import alerts
from weir.commands.backup import backup, restore
from weir.commands.doctor import doctor, repair
from weir.commands.export import export_command
from weir.commands.files import files
from weir.commands.keys import keys
from weir.commands.metrics import metrics, series
from weir.commands.migrate import migrate
from weir.commands.push import push
from weir.commands.query import query
from weir.commands.serve import serve
from weir.commands.subscriptions import subscriptions


@click.group()
@click.version_option(package_name="weir")
def main() -> None:
    """Weir: metrics and file metadata, on one machine or on AWS."""


main.add_command(serve)
main.add_command(keys)
main.add_command(export_command)
main.add_command(alerts)
main.add_command(files)
main.add_command(push)
main.add_command(query)
main.add_command(migrate)
main.add_command(metrics)
main.add_command(series)
main.add_command(subscriptions)
main.add_command(doctor)
main.add_command(repair)
main.add_command(backup)
main.add_command(restore)
