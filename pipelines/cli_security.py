"""`folio users`, `folio keys` and `folio audit`: who may use the workspace, and what they did."""

from __future__ import annotations
