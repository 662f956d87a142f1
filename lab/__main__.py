"""``python -m egressctl_lab``: the ``egressctl lab`` commands without the rest of the CLI."""

from egressctl_lab.cli import lab_app

if __name__ == "__main__":
    lab_app(prog_name="egressctl lab")
