"""``python -m egressctl``: the same command line as the ``egressctl`` console script."""

from egressctl.cli.main import main

if __name__ == "__main__":
    main()
