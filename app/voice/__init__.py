"""Her voice and ears: speech synthesis and recognition on this machine (docs/VOICE.md).

Nothing here loads at import: each model loads on first use, on a thread of its own (app/voice/service.py).
"""
