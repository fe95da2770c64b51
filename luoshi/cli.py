"""The ``luoshi`` console command: Django's manage.py, plus the verbs ``serve`` and ``demo``."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "luoshi.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and args[1] == "serve":
        # The demo server: migrate, then serve on loopback (production uses a WSGI server, see README).
        execute_from_command_line([args[0], "migrate", "--no-input", "-v", "0"])
        args = [args[0], "runserver", *(args[2:] or ["127.0.0.1:8000"])]
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
