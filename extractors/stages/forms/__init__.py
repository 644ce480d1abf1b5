"""Form understanding: key-value pairs (`forms.kv`), check boxes in the page image
(`forms.checkbox`) and filled PDF form fields (`forms.acroform`). Importing registers them."""

from extractors.stages.forms import acroform, checkbox, kv

__all__ = ["acroform", "checkbox", "kv"]
