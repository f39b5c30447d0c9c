"""Samantha: the server, its session pipeline, backends and clients."""
