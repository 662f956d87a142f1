"""``python -m egressctl.lab``: the ``egressctl lab`` commands without the rest of the CLI."""

from egressctl.cli.lab_cmd import lab_app

if __name__ == "__main__":
    lab_app(prog_name="egressctl lab")
