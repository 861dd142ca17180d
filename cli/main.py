"""``aci-rules``: the entry point. Each command lives in a module of its own (see base.COMMANDS)."""

from __future__ import annotations

import sys

import click

from .base import EXIT_OK, EXIT_USAGE, cli
from .i18n import _

__all__ = ["cli", "main"]


def main(argv=None) -> None:
    """Console-script entry point."""
    try:
        code = cli.main(args=argv, prog_name="aci-rules", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except click.exceptions.Exit as exit_:
        code = exit_.exit_code
    except click.exceptions.Abort:
        click.echo(_("aci-rules: interrupted"), err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo(_("aci-rules: interrupted"), err=True)
        code = 130
    except Exception as error:  # the last wall: never a traceback
        click.echo(_("aci-rules: internal error: {error} (please report it with the command and the files)")
                   .format(error=f"{type(error).__name__}: {error}"), err=True)
        code = EXIT_USAGE
    sys.exit(code if isinstance(code, int) else EXIT_OK)
