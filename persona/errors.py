"""The root of Samantha's own errors, in the bottom layer so that every layer can build on it."""

from __future__ import annotations


class SamanthaError(Exception):
    """Something Samantha refuses or cannot do; the message says why in words a person can act on."""
