"""UsageError: a bad command-line argument or request, shared by the command line (app.cli) and the
window's start-up (app.ui.app), which report it as one line on stderr with exit code 2."""


class UsageError(Exception):
    """A bad argument: reported as one line on stderr, exit code 2."""
