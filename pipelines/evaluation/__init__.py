"""Accuracy and speed on public datasets: `folio evaluate*` and `folio bench`."""
