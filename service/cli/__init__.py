"""The ``credence`` command line.

Each command lives in its own module, named in ``COMMANDS`` and imported only
when it runs (or when ``--help`` lists it): a scheduled ``credence rescore``
never loads the web server, gunicorn or the migrations, and ``serve`` can set up
metrics before anything imports prometheus-client. Modules that load the app
import it inside their command.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "serve": "service.cli.serve:serve",
    "migrate": "service.cli.migrate:migrate",
    "import": "service.cli.data:import_",
    "export": "service.cli.data:export",
    "keys": "service.cli.keys:keys",
    "config": "service.cli.config:config",
    "rescore": "service.cli.rescore:rescore",
}
"""Each command's name and where it is: ``module:attribute``."""


class _LazyGroup(click.Group):
    """A group whose commands are imported when asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Credence: calibrated confidence for attributed claims."""
