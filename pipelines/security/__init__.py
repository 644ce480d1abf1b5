"""Security and compliance: who is acting (principals, roles, API keys), what they did (the
hash-chained audit log), erasure and retention, PII detection and redaction, encryption policy.

Nothing here imports streamlit; the parts the service uses (principals, keys, audit staging)
do not import duckdb either.
"""
