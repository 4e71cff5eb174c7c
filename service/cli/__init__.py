"""The ``credence`` command line.

Each command lives in its own module and is listed in ``COMMANDS``. Modules that
load the app import it inside their command, so that ``serve`` can set up
metrics before anything imports prometheus-client.
"""

from __future__ import annotations

import click

from service.cli import config, data, keys, migrate, rescore, serve

COMMANDS: list[click.Command] = [
    serve.serve,
    migrate.migrate,
    data.import_,
    data.export,
    keys.keys,
    config.config,
    rescore.rescore,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Credence: calibrated confidence for attributed claims."""


for _command in COMMANDS:
    main.add_command(_command)
