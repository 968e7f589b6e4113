"""The one exception class of snn-rram."""


class SnnRramError(ValueError):
    """Bad input or an impossible request.

    Every message names the offending field, the value given and what was expected. It derives
    from :class:`ValueError`, so code that already catches bad values keeps working.
    """
