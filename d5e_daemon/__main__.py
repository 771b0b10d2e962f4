"""`python -m d5e_daemon …` and the `d5e` command (pyproject's entry point): `cli.main`, except
that `d5e serve` puts the start-up code cache in place first, before the modules the command line
imports are read (their dataclasses' methods and their patterns come from it too:
`codecache.py`)."""

import sys


def main() -> int:
    if sys.argv[1:2] == ["serve"]:
        from .codecache import CodeCache

        CodeCache().install()  # `cli.cmd_serve` finds it installed and saves it once started
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
