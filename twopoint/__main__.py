"""``python -m twopoint`` is the ``twopoint`` command."""

from twopoint.cli.app import main

if __name__ == "__main__":
    main()
