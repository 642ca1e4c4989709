"""Evidence is stored as facts (numbers, codes) and rendered as a sentence in the reader's language, from
the class set's sentences (its spec)."""

from __future__ import annotations

from typing import Any

from domain.money import format_amount
from scoring.registry import CLASS_SETS
from scoring.spec import LANGUAGES, ClassSetSpec


def render_evidence(class_set: str, evidence: dict[str, Any], lang: str) -> str:
    lang = lang if lang in LANGUAGES else "en"
    if class_set not in CLASS_SETS:
        return _as_facts(evidence)
    spec = CLASS_SETS[class_set]
    sentence = spec.evidence.sentences.get(spec.evidence.case(evidence))
    if sentence is None:
        return _as_facts(evidence)
    try:
        return sentence.in_language(lang).format(**_display_facts(spec, evidence, lang))
    except (KeyError, IndexError):
        return _as_facts(evidence)  # stored before a sentence named this fact


def _display_facts(spec: ClassSetSpec, evidence: dict[str, Any], lang: str) -> dict[str, Any]:
    shown: dict[str, Any] = {key: "–" if value is None else str(value) for key, value in evidence.items()}
    for key, value in evidence.items():
        if key.endswith("_share"):
            shown[key] = "–" if value is None else f"{round(float(value) * 100)}%"
        elif key.endswith("_minor") and "currency" in evidence and isinstance(value, int):
            shown[key.removesuffix("_minor")] = format_amount(value, evidence["currency"], lang)
    names = spec.evidence.value_names
    for key, value in evidence.items():
        if isinstance(value, str) and value in names:
            shown[key] = names[value].in_language(lang)
    labels = {code.code: code.label(lang) for code in spec.codes}
    shown["labels"] = labels
    if evidence.get("code") in labels:
        shown["label"] = labels[evidence["code"]]
    return shown


def _as_facts(evidence: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(evidence.items()))
