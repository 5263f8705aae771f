"""User-facing errors.

Every problem a user can fix (a corrupt image, a wrong sheet size, an empty folder, an unknown animation name, a
mismatched checkpoint) is raised as :class:`MotionmapError` with a one-line message that names the file or value and
says how to fix it. The CLI prints ``motionmap: error: <message>`` and exits with status 2, without a traceback.
Library callers can catch it like any other exception (it is a ``ValueError``).
"""


class MotionmapError(ValueError):
    """A problem with the user's input, stated in one line: what is wrong, where, and how to fix it."""

    exit_code = 2
