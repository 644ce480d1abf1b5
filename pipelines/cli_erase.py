"""`folio erase` and `folio retention`: erasure of documents and subjects (GDPR Art. 17)."""

from __future__ import annotations
