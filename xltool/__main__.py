"""`python -m xltool …` runs the command line, as the `xltool` command does."""

from xltool.cli import app

app(prog_name="xltool")
