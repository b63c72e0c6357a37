"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class ScalingLabError(ValueError):
    """Bad input: the message names the problem and what to do about it."""


class FitWarning(UserWarning):
    """A fit that did not converge or whose optimum sits on a parameter bound."""
