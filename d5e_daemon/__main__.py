"""`python -m d5e_daemon …` and the `d5e` command (pyproject's entry point): `cli.main` with the
start-up code cache (`codecache.py`) in place before the modules the command imports are read:
their dataclasses' methods and their patterns come from it (~20 % of the CPU of a `d5e lookup`),
and for `d5e serve` attrs' and cattrs' code as well. `d5e serve` saves it once started
(`cli.cmd_serve`); another command when it returns (not when the command line was refused: a
mistyped command keeps no file of its own). `d5e serve` and `d5e mcp` without a cache of their
own read the one the install filled (`codecache.seed_file`)."""

import sys


def main() -> int:
    from .codecache import CodeCache, cache_file, seed_file

    command = sys.argv[1] if len(sys.argv) > 1 else ""
    cache = None
    if command == "serve":
        cache = CodeCache()
    elif command == "mcp":  # its seed too (`make setup` fills it): started anew by each client
        cache = CodeCache(cache_file(command), seed_file(command))
    elif command.isalpha() and command.islower():  # a command's name, not an option
        cache = CodeCache(cache_file(command))
    if cache is not None:
        cache.install()
    from .cli import main as cli_main

    code = cli_main()
    if cache is not None:
        cache.uninstall()  # saved if it learnt something (`serve` saved it once started)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
