"""The program's version, as installed (no Qt: the command line's --version answers without loading it)."""

from importlib.metadata import PackageNotFoundError, version


def app_version() -> str:
    try:
        return version("unboxed")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "development"
