"""HTTP and websocket routes: they only translate frames; the session does the work."""
