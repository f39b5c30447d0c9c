"""The Postgres engine of memory (pgvector for meaning, Postgres full text for words): docs/DEPLOYMENT.md."""
