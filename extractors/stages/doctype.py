"""`classify.doctype`: the kind of document (receipt, invoice, form, letter, contract, report,
other) from text, layout and entity cues, with a softmax confidence.

Each type has a linear score over cue features: multilingual keywords (counted with diminishing
returns), layout (page count, page shape, tables, line lengths, label-colon lines, checkboxes)
and, when `entities.text` ran before, the entities (amount density, invoice numbers, people).
"other" has a fixed score, so a document with no cue for anything stays "other". Pure Python
regular expressions over at most the first `max_pages` pages: well under 5 ms a page.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import ClassVar

import numpy as np

from extractors.document import Document
from extractors.stage import BLOCKS, TABLES, DocumentStage, StageOptions, register
from extractors.stages.entities import ENTITIES
from models.feature_classifier import load_verified, recorded_version

TYPES = ("receipt", "invoice", "form", "letter", "contract", "report", "other")

_KEYWORDS: dict[str, re.Pattern[str]] = {
    kind: re.compile(rf"(?<![a-zà-ÿ])(?:{pattern})(?![a-zà-ÿ])")
    for kind, pattern in {
        "invoice": r"invoice|tax invoice|factuur|facture|rechnung|fattura|factura|bill to|"
        r"invoice (?:no|number|date)|due date|payment terms|vervaldatum|f[äa]llig|"
        r"[ée]ch[ée]ance|amount due|balance due|btw|iban|bic|swift|ust-?idnr|tva|"
        r"total ht|montant ttc|rechnungsbetrag|factuurnummer|rechnungsnummer|remit",
        "receipt": r"receipt|cash|change|thank you|thanks|tendered|cashier|kassenbon|kassabon|"
        r"bon|ticket|re[çc]u|danke|merci|bedankt|rounding|qty|visa|mastercard|debit|"
        r"member|served by|server|terminal|please come again|goods sold",
        "form": r"form|application|signature|please (?:print|complete|check|indicate)|"
        r"check one|date of birth|(?:name|address|fax|phone|to|from|cc|subject|date)\s*:|"
        r"applicant|formulier|formular|formulaire|handtekening|unterschrift",
        "letter": r"dear|sincerely|yours (?:faithfully|truly|sincerely)|kind regards|"
        r"best regards|regards|geachte|beste|met vriendelijke groet(?:en)?|hoogachtend|"
        r"sehr geehrte[rn]?|mit freundlichen gr[üu](?:ß|ss)en|madame|monsieur|"
        r"cordialement|salutations|enclosed|enclosure|re",
        "contract": r"agreement|contract|hereby|party|parties|whereas|shall|hereinafter|"
        r"terms and conditions|in witness whereof|governing law|termination|liability|"
        r"indemnif\w*|overeenkomst|partijen|vertrag|vertragspartei\w*|contrat|clause|"
        r"article|artikel|§",
        "report": r"report|abstract|introduction|summary|conclusions?|results|analysis|"
        r"methodology|table \d+|figure \d+|fig\. \d+|annual|statistics|survey|percent|"
        r"rapport|bericht|verslag|overview|chapter|appendix|source|quarter|fiscal",
    }.items()
}
_LABEL_LINE = re.compile(r"^[^\W\d][^:\n]{0,30}:(?:\s|$)", re.M)  # "Name:", "DATE: ..."
_EMPTY_LABEL = re.compile(r"^[^\W\d][^:\n]{0,30}:[ _.]*$", re.M)  # "Name:" with nothing after
_CHECKBOX = re.compile(r"[☐☑☒□■▢◻✓✔]|\[ ?[xX]? ?\]|\( ?\)")
_SECTION = re.compile(r"^\d+(?:\.\d+)*\.? +[A-Z][a-z]", re.M)  # "2.1 Results"
# (type, feature) -> weight. Features are 0..~3 (log-counted keywords, rates, flags).
_WEIGHTS: dict[str, dict[str, float]] = {
    # Receipt words ("change", "cash", "table") occur in forms too: they count fully only
    # together with many amounts.
    "receipt": {
        "kw_receipt": 0.4,
        "kw_receipt_money": 1.0,
        "kw_invoice": 0.3,
        "tall": 2.0,
        "one_page": 0.3,
        "short_lines": 0.3,
        "money_rate": 1.0,
        "kw_report": -0.5,
        "long_lines": -1.5,
    },
    "invoice": {
        "kw_invoice": 1.6,
        "invoice_number": 1.5,
        "money_rate": 1.2,
        "tables": 0.3,
        "kw_receipt": -0.2,
        "tall": -1.0,
        "kw_contract": -0.3,
    },
    "form": {
        "kw_form": 0.6,
        "label_lines": 1.2,
        "empty_labels": 2.5,
        "checkboxes": 1.5,
        "short_lines": 0.8,
        "kw_report": -0.3,
        "long_lines": -0.5,
    },
    "letter": {
        "kw_letter": 1.3,
        "people": 0.3,
        "long_lines": 0.8,
        "one_page": 0.3,
        "label_lines": -1.0,
        "tables": -0.5,
    },
    "contract": {
        "kw_contract": 1.1,
        "long_lines": 1.0,
        "many_pages": 0.3,
        "money_rate": -1.0,
        "label_lines": -0.5,
    },
    "report": {
        "kw_report": 0.9,
        "sections": 1.0,
        "tables": 0.8,
        "many_pages": 1.0,
        "long_lines": 0.8,
        "tall": -1.0,
        "label_lines": -0.5,
    },
}
OTHER_SCORE = 1.2


class DocTypeOptions(StageOptions):
    max_pages: int = 10
    """Pages read for cues (a document's kind shows on its first pages)."""
    temperature: float = 1.0
    """Softmax temperature turning scores into the confidence."""
    model: str | None = None
    """A classifier trained on reviewed documents (`folio train`; a `.npz` path) over the
    rules' answer and the cue features (`feature_vector`). None: the rules alone."""
    model_sha256: str | None = None
    """The model file's checksum (see forms.kv's option of the same name)."""


def features(document: Document, max_pages: int = 10) -> dict[str, float]:
    """Cue features of a document (0 when absent; keyword counts on a log scale)."""
    pages = document.pages[:max_pages]
    text = "\n\n".join(p.text for p in pages)
    lower = text.lower()
    lines = [ln for ln in text.split("\n") if ln.strip()]
    n_lines = max(1, len(lines))
    words = max(1, sum(len(ln.split()) for ln in lines))
    f: dict[str, float] = {
        f"kw_{kind}": math.log1p(len(pattern.findall(lower))) for kind, pattern in _KEYWORDS.items()
    }
    f["label_lines"] = len(_LABEL_LINE.findall(text)) / n_lines * 3
    f["empty_labels"] = len(_EMPTY_LABEL.findall(text)) / n_lines * 3
    f["checkboxes"] = min(3.0, math.log1p(len(_CHECKBOX.findall(text))))
    f["sections"] = min(3.0, math.log1p(len(_SECTION.findall(text))))
    mean_words = words / n_lines
    f["short_lines"] = 1.0 if mean_words < 5 and n_lines >= 8 else 0.0
    # Prose: the share of words in lines of eight words or more (a table's short cells on the
    # same page do not hide the paragraphs around it, as they would in a mean).
    in_long = sum(n for n in (len(ln.split()) for ln in lines) if n >= 8) / words
    f["long_lines"] = min(1.0, max(0.0, (in_long - 0.3) / 0.4))
    f["one_page"] = 1.0 if len(document.pages) == 1 else 0.0
    f["many_pages"] = min(1.0, max(0.0, (len(document.pages) - 2) / 4))
    f["tall"] = 1.0 if pages and all(p.height > 1.8 * p.width for p in pages) else 0.0
    f["tables"] = min(1.0, sum(len(p.tables) for p in pages) / 2)
    labels = Counter(e.label for e in document.entities if e.page is None or e.page < max_pages)
    f["money_rate"] = min(1.0, labels["MONEY"] / words * 10)
    f["invoice_number"] = 1.0 if labels["INVOICE_NUMBER"] else 0.0
    f["people"] = min(1.0, labels["PERSON"] / 3)
    f["kw_receipt_money"] = f["kw_receipt"] * f["money_rate"]
    return f


def scores(feats: dict[str, float]) -> dict[str, float]:
    out = {
        kind: sum(w * feats.get(name, 0.0) for name, w in weights.items())
        for kind, weights in _WEIGHTS.items()
    }
    out["other"] = OTHER_SCORE
    return out


def classify(
    document: Document, max_pages: int = 10, temperature: float = 1.0
) -> tuple[str, float, dict[str, float]]:
    """(type, confidence, probability of every type)."""
    raw = scores(features(document, max_pages))
    top = max(raw.values())
    exp = {k: math.exp((v - top) / temperature) for k, v in raw.items()}
    total = sum(exp.values())
    probs = {k: v / total for k, v in exp.items()}
    best = max(probs, key=lambda k: probs[k])
    return best, probs[best], probs


# The cue features in a fixed order, for a learned model (bump the version when they change).
FEATURE_NAMES = (
    *(f"kw_{kind}" for kind in _KEYWORDS),
    "label_lines", "empty_labels", "checkboxes", "sections", "short_lines", "long_lines",
    "one_page", "many_pages", "tall", "tables", "money_rate", "invoice_number", "people",
    "kw_receipt_money",
)  # fmt: skip
FEATURES_VERSION = "1"
RULE_COLUMNS = tuple(range(len(TYPES)))  # the rules' type, one-hot, leads every vector


def feature_vector(document: Document, max_pages: int = 10, temperature: float = 1.0) -> np.ndarray:
    """One row: the rules' type (one-hot), their probabilities, then the cue features."""
    feats = features(document, max_pages)
    best, _, probs = classify(document, max_pages, temperature)
    row = [float(best == kind) for kind in TYPES] + [probs[kind] for kind in TYPES]
    row += [feats.get(name, 0.0) for name in FEATURE_NAMES]
    return np.asarray([row], dtype=np.float32)


@register
class DocTypeStage(DocumentStage[DocTypeOptions]):
    kind: ClassVar[str] = "classify.doctype"
    version: ClassVar[str] = "1"
    uses: ClassVar[tuple[str, ...]] = (BLOCKS, TABLES, ENTITIES)
    produces: ClassVar[tuple[str, ...]] = ("document.doc_type",)
    Options: ClassVar[type[StageOptions]] = DocTypeOptions

    @property
    def recorded_version(self) -> str:
        return recorded_version(self.version, self.options.model, self.options.model_sha256)

    def annotate(self, document: Document, prediction: object) -> None:
        o = self.options
        kind, confidence, _ = classify(document, o.max_pages, o.temperature)
        if o.model:
            model = load_verified(o.model, o.model_sha256, TYPES, FEATURES_VERSION)
            row = model.probabilities(feature_vector(document, o.max_pages, o.temperature))[0]
            kind, confidence = TYPES[int(row.argmax())], float(row.max())
        document.doc_type, document.doc_type_confidence = kind, round(confidence, 3)
