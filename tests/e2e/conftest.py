"""The command line's tests: its entry point called in this process."""

from types import SimpleNamespace

import pytest

from app.cli import main


@pytest.fixture
def run_here(qapp, capsys):
    """main.py's entry point called in this process: returns what a process would (returncode, stderr). The
    application's names, which it sets and settings files follow, are given back afterwards."""
    names = qapp.applicationName(), qapp.organizationName()

    def call(*args):
        capsys.readouterr()
        try:
            code = main(list(args))
        finally:
            qapp.setApplicationName(names[0])
            qapp.setOrganizationName(names[1])
        return SimpleNamespace(returncode=code, stderr=capsys.readouterr().err)

    return call
