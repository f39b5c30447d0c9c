"""Long-term memory: SQLite is the truth, FAISS and FTS5 are indexes over it."""
