"""Which pairs of entities in a sentence are related, and how: dependency paths plus cues.

For a pair of mentions of compatible labels the rules walk the dependency path between their
root tokens and read the words on it: an employment or nominal link ("CEO of", "at", "'s",
"works for", "represented by") relates a person to an organisation; a payment word ("pay",
"owe", "invoice", "fee") an organisation to an amount; a signing or dating word ("signed",
"dated", "effective", "due") a party to a date. A path that runs through a third entity of the
same kind is that entity's link, not this pair's. Surface patterns over the words between the
two mentions (apposition, "X of ORG", "ORG shall pay") back the parse up where it fails (OCR
capitals, broken lines) and raise confidence where both agree.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.stages.relations.parse import Parse
from extractors.stages.relations.sentences import Mention, Sentence, word_set

PARTY = ("PERSON", "ORG")
# (head label, tail label) -> relation label; the head is always the party.
PAIRS: dict[tuple[str, str], str] = {
    ("PERSON", "ORG"): "person_org",
    ("ORG", "MONEY"): "org_amount",
    ("PERSON", "DATE"): "party_date",
    ("ORG", "DATE"): "party_date",
}
MAX_EDGES = {"person_org": 6, "org_amount": 7, "party_date": 8}
CUE_REACH = {"org_amount": 4, "party_date": 4}  # edges from a cue word to either end

EMPLOYMENT = word_set(
    """
    work join represent lead head found co-found serve employ manage direct chair hire
    appoint name act run own behalf representative employee director officer partner
    member founder president chairman ceo cfo cto coo manager head chief spokesman
    spokeswoman spokesperson secretary treasurer counsel agent engineer analyst consultant
    executive vp
    """
)
NOMINAL_PREPS = frozenset(["of", "at", "from", "for", "with"])
MONEY_CUES = word_set(
    """
    pay owe receive invoice charge bill refund transfer earn raise spend cost fund grant
    award donate invest lend loan borrow remit reimburse deposit collect lose sell buy
    purchase acquire settle fine claim offer budget allocate price value total amount
    payment fee revenue sale sales profit loss income debt balance sum salary contribution
    donation compensation payable due worth bid quote sue seek demand penalty deposit
    """
)
DATE_STRONG = word_set(
    """
    sign date dated execute effective due expire terminate commence countersign signature
    enter deadline
    """
)
DATE_WEAK = word_set(
    """
    agree make issue deliver submit file approve found incorporate establish register
    renew amend conclude pay invoice send receive accept hire appoint join award ratify
    witness announce publish release launch open close merge acquire complete start begin
    end establish dissolve sell buy purchase
    """
)
VERB_POS = ("VERB", "AUX")

# Surface cues over the text between two mentions (head first unless noted).
_WORD = r"[A-Za-z&.\-]+"
_PERSON_OF_ORG = re.compile(  # "J. Doe, head of sales at Acme", "J. Doe of Acme", "J. Doe (Acme)"
    rf"^\s*,\s*(?:(?:the|a|an|our|its)\s+)?(?:{_WORD}\s+){{0,5}}?"
    r"(?:of|at|from|for|with)\s+(?:the\s+)?$|^\s+(?:of|at|from)\s+(?:the\s+)?$|^\s*\(\s*$",
    re.IGNORECASE,
)
_ORG_S_PERSON = re.compile(rf"^\s*['’]s?\s+(?:{_WORD}\s+){{0,4}}$")  # tail (ORG) first
_ORG_BY_PERSON = re.compile(  # tail (ORG) first: "Acme Ltd, represented by its director J. Doe"
    rf"^\s*,?\s*(?:duly\s+)?represented\s+(?:herein\s+)?by\s+(?:(?:its|our|the)\s+)?"
    rf"(?:{_WORD}\s+){{0,4}}?(?:,\s*)?$",
    re.IGNORECASE,
)
_ORG_PAYS = re.compile(
    r"^[^.;:!?]{0,60}?\b(?:shall|will|must|agrees? to|agreed to|has to|is to|to)?\s*"
    r"(?:pay|pays|paid|owes?|owed|receives?|received|charges?|charged|invoiced?|invoices|"
    r"refunds?|refunded|transfers?|transferred|earned|earns|raised|raises|spent|spends)\b"
    r"[^.;:!?]{0,60}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Found:
    label: str
    head: Mention
    tail: Mention
    confidence: float
    reason: str  # which rule fired (debugging and tests)


def candidate_pairs(sentence: Sentence) -> list[tuple[Mention, Mention, str]]:
    """(head, tail, label) for every pair of mentions of compatible labels."""
    out = []
    for head in sentence.mentions:
        for tail in sentence.mentions:
            label = PAIRS.get((head.label, tail.label))
            if label and head is not tail and not _overlap(head, tail):
                out.append((head, tail, label))
    return out


def _overlap(a: Mention, b: Mention) -> bool:
    return a.start < b.end and b.start < a.end


def _tokens(parse: Parse, mention: Mention) -> list[int]:
    return [i for i, t in enumerate(parse) if t.start < mention.end and mention.start < t.end]


def _root(parse: Parse, tokens: Sequence[int]) -> int:
    inside = set(tokens)
    for i in tokens:
        if parse[i].head == i or parse[i].head not in inside:
            return i
    return tokens[0]


def _ancestors(parse: Parse, i: int) -> list[int]:
    chain = [i]
    while parse[chain[-1]].head != chain[-1] and len(chain) <= len(parse):
        chain.append(parse[chain[-1]].head)
    return chain


def dependency_path(parse: Parse, a: int, b: int) -> list[int] | None:
    """Token indices from `a` to `b` through their lowest common ancestor (both included);
    None when they hang from different roots (the parser saw two sentences)."""
    up_a, up_b = _ancestors(parse, a), _ancestors(parse, b)
    common = next((i for i in up_a if i in set(up_b)), None)
    if common is None:
        return None
    return up_a[: up_a.index(common) + 1] + list(reversed(up_b[: up_b.index(common)]))


def _mention_at(sentence: Sentence, token_start: int, token_end: int) -> Mention | None:
    for m in sentence.mentions:
        if m.start < token_end and token_start < m.end:
            return m
    return None


def _conjunct(parse: Parse, path: Sequence[int], k: int) -> bool:
    """The path enters or leaves token `path[k]` by a `conj` edge."""
    i = path[k]
    near = [path[j] for j in (k - 1, k + 1) if 0 <= j < len(path)]
    return parse[i].dep == "conj" or any(
        parse[j].dep == "conj" and parse[j].head == i for j in near
    )


def _path_decision(
    sentence: Sentence, parse: Parse, head: Mention, tail: Mention, label: str
) -> tuple[float, str] | None:
    head_tokens, tail_tokens = _tokens(parse, head), _tokens(parse, tail)
    if not head_tokens or not tail_tokens:
        return None
    path = dependency_path(parse, _root(parse, head_tokens), _root(parse, tail_tokens))
    if path is None or len(path) - 1 > MAX_EDGES[label]:
        return None
    own = set(head_tokens) | set(tail_tokens)
    between = [i for i in path if i not in own]
    for k, i in enumerate(path):  # a third entity on the path takes the link ...
        other = _mention_at(sentence, parse[i].start, parse[i].end)
        if other is None or other is head or other is tail:
            continue
        if label == "person_org" and other.label == "PERSON":
            return None
        if other.label in (*PARTY, tail.label) and not _conjunct(parse, path, k):
            return None  # ... unless the pair's end is its conjunct ("between A and B")
    lemmas = {parse[i].lemma for i in between}
    verbs = [i for i in between if parse[i].pos in VERB_POS and parse[i].dep != "aux"]
    preps = {parse[i].lemma for i in between if parse[i].dep in ("prep", "agent")}
    edges = len(path) - 1
    if label == "person_org":
        if _object_of_other_verb(parse, path):
            return None
        if lemmas & EMPLOYMENT:
            return 0.8, "path:employment"
        # A noun phrase linking them says how: "of", "at" ... or a possessive ("Acme's");
        # bare apposition or compounds are lists of names as often ("Bruix, Marco Bianchi").
        linked = bool(preps & NOMINAL_PREPS) or any(parse[i].dep == "poss" for i in path)
        if not verbs and linked and preps <= NOMINAL_PREPS and edges <= 4:
            return (0.75 if edges <= 3 else 0.6), "path:nominal"
        return None
    # A cue counts near both ends: far from one it belongs to another clause ("praised in a
    # report that listed $5 of fines").
    reach = CUE_REACH[label]
    first = max(k for k, i in enumerate(path) if i in set(head_tokens))
    last = min(k for k, i in enumerate(path) if i in set(tail_tokens))
    cues = {
        parse[i].lemma
        for k, i in enumerate(path[first + 1 : last], first + 1)
        if k - first <= reach and last - k <= reach
    }
    if label == "org_amount":
        return (0.8, "path:money") if cues & MONEY_CUES else None
    if cues & DATE_STRONG:
        return 0.8, "path:date"
    if cues & DATE_WEAK:
        return 0.65, "path:event"
    return None


OBJECTS = ("dobj", "dative", "pobj", "attr", "oprd")


def _object_of_other_verb(parse: Parse, path: Sequence[int]) -> bool:
    """The person is the object of a verb that is not about employment ("met Sarah Connor of
    Cyberdyne": not Initech's). `path` starts at the person's root token."""
    for i, up in itertools.pairwise(path):
        token = parse[i]
        if token.head != up or (token.pos in VERB_POS and token.dep != "aux"):
            return False  # the path turns down (to what hangs from the person) or left the noun
        head = parse[up]
        if token.dep in OBJECTS and head.pos in VERB_POS and head.lemma not in EMPLOYMENT:
            return True
        if token.dep in ("nsubj", "nsubjpass", "appos", "conj"):
            return False
    return False


def _surface_decision(sentence: Sentence, head: Mention, tail: Mention, label: str) -> float:
    if head.end <= tail.start:
        gap, head_first = sentence.text[head.end : tail.start], True
    else:
        gap, head_first = sentence.text[tail.end : head.start], False
    if len(gap) > 80:
        return 0.0
    if label == "person_org":
        full_name = len(head.entity.text.split()) > 1  # "Hexachlorobenzene (HCB)" is none
        if head_first and full_name and _PERSON_OF_ORG.match(gap):
            return 0.7
        if not head_first and (_ORG_S_PERSON.match(gap) or _ORG_BY_PERSON.match(gap)):
            return 0.7
    elif label == "org_amount" and head_first and _ORG_PAYS.match(gap):
        return 0.65
    return 0.0


def decide(sentence: Sentence, parse: Parse | None) -> list[Found]:
    """The relations of one sentence (its parse may be missing: surface cues only)."""
    if headline(sentence.text):
        return []
    out = []
    for head, tail, label in candidate_pairs(sentence):
        by_path = _path_decision(sentence, parse, head, tail, label) if parse else None
        surface = _surface_decision(sentence, head, tail, label)
        if by_path and surface:
            out.append(Found(label, head, tail, min(0.95, by_path[0] + 0.1), by_path[1] + "+text"))
        elif by_path:
            out.append(Found(label, head, tail, by_path[0], by_path[1]))
        elif surface:
            out.append(Found(label, head, tail, surface, "text"))
    return out


def needs_parse(sentence: Sentence) -> bool:
    return not headline(sentence.text) and bool(candidate_pairs(sentence))


HEADLINE_SHARE = 0.7
HEADLINE_WORDS = 5
_ALPHA_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def headline(text: str) -> bool:
    """A title or a table header in Title Case ("How do Institutional Settings Shape ..."):
    the small NER model reads its capitalised words as names, so it relates nothing. Text
    in capitals (OCR of letterheads) is not a headline here."""
    words = _ALPHA_WORD.findall(text)
    if len(words) < HEADLINE_WORDS:
        return False
    titled = sum(w[0].isupper() and not w.isupper() for w in words)
    return titled >= HEADLINE_SHARE * len(words)
