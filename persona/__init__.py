"""Samantha's persona as data, and the pure function that turns it into a prompt."""
