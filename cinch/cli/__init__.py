"""The ``cinch`` command line.

Every command pays for the CLI's start, so it loads only what the command run needs
(tests/cli/test_startup.py holds it to that):

- the root lists its commands from a table (``cinch.cli.app.COMMANDS``) and imports a command's
  module only when that command runs or shows its help;
- command modules import the engine inside the commands that use it, one command running per
  process; parameter types stay cheap (``Annotated`` aliases, enums of :mod:`cinch.cli.output`);
- rich is imported on first print (:mod:`cinch.cli.output`, :mod:`cinch.cli.progress`);
- modules defining commands do not use ``from __future__ import annotations``: typer reads the
  signature of the command run at each start, and string annotations would be compiled and
  evaluated there each time.
"""
