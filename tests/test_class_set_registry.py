"""The class-set registry: its invariants, and a new class set added as one spec is seen everywhere."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from typing import Annotated

import numpy as np
import pytest
from pydantic import Field

from domain.classes.evidence import render_evidence
from domain.config import AppConfig
from scoring.batch import DAY_SECONDS, CustomerBatch, empty_batch
from scoring.catalogue import ScoringSettings, classify_all
from scoring.registry import CLASS_SETS
from scoring.result import ClassSetResult
from scoring.spec import LANGUAGES, ClassSetSpec, Code, Evidence, Params, ScoringContext, Sentence
from tests.conftest import Api, Workspace, create_customer, record_order, run_worker
from tests.test_scoring_properties import batches

SPECS = CLASS_SETS.specs()
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_every_spec_is_complete(spec: ClassSetSpec) -> None:
    assert re.fullmatch(r"[a-z][a-z_]*", spec.key)
    assert len(set(spec.code_names)) == len(spec.codes) >= 2  # codes unique
    for code in spec.codes:
        assert all(code.labels[lang].strip() for lang in LANGUAGES), code  # labelled in three languages
        assert code.color is None or COLOR.match(code.color)
    assert all(spec.names.in_language(lang) for lang in LANGUAGES)
    spec.params()  # the defaults are valid
    spec.default_params("VN")
    assert spec.margin is None or spec.hysteresis is not None  # a margin only holds demotions of ordered sets


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_every_sentence_names_only_facts_the_set_records(spec: ClassSetSpec) -> None:
    """Every placeholder of every sentence is a fact the classifier produces (or one the renderer adds),
    and every case the evidence can pick has a sentence."""
    result = _classified(spec, _varied(40))
    produced = set(result.facts) | {"code", "currency", "label", "labels"}
    produced |= {name.removesuffix("_minor") for name in result.facts if name.endswith("_minor")}
    for sentence in spec.evidence.sentences.values():
        for lang in LANGUAGES:
            names = {
                field.split("[")[0].split(".")[0]
                for _, field, _, _ in string.Formatter().parse(sentence.in_language(lang))
                if field
            }
            assert names <= produced, (spec.key, lang, names - produced)
    for i in range(len(result.code_index)):
        evidence = {**result.facts_at(i), "code": result.code(i), "currency": "VND"}
        assert spec.evidence.case(evidence) in spec.evidence.sentences
        for lang in LANGUAGES:
            assert "=" not in render_evidence(spec.key, evidence, lang)  # a sentence, not the raw facts


def test_every_set_classifies_any_batch_into_its_own_codes() -> None:
    from hypothesis import given, settings

    @settings(max_examples=30, deadline=None)
    @given(batches())
    def check(batch: CustomerBatch) -> None:
        for result in classify_all(batch, ScoringSettings()):
            assert result.codes == CLASS_SETS[result.key].code_names
            assert ((result.code_index >= 0) & (result.code_index < len(result.codes))).all()

    check()


def _varied(n: int) -> CustomerBatch:
    rng = np.random.default_rng(5)
    batch = empty_batch(n, 1_780_000_000.0)
    paid = rng.integers(0, 8, n)
    last = np.where(paid > 0, batch.now - rng.integers(1, 900, n) * DAY_SECONDS, np.nan)
    return replace(
        batch,
        birth_year=np.where(rng.random(n) < 0.2, 0, rng.integers(1950, 2010, n)),
        birth_month=rng.integers(1, 13, n),
        birth_day=rng.integers(1, 28, n),
        personality_type=rng.integers(0, 10, n),
        paid_order_count=paid,
        net_spend=paid * rng.integers(100_000, 20_000_000, n),
        last_paid_at=last,
        first_paid_at=last,
        complaints=rng.integers(0, 3, n),
    )


def _classified(spec: ClassSetSpec, batch: CustomerBatch) -> ClassSetResult:
    results = {result.key: result for result in classify_all(batch, ScoringSettings())}
    return results[spec.key]


# A toy class set, as a shop might add one: one module (this part), one registration line (below).
class WeekdayParams(Params):
    weekend_days: Annotated[int, Field(ge=1, le=2)] = 2


def classify_signup_day(batch: CustomerBatch, params: WeekdayParams, context: ScoringContext) -> ClassSetResult:
    weekday = ((batch.created_at // DAY_SECONDS).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weekend = weekday >= 7 - params.weekend_days
    return TOY.result(np.where(weekend, 1, 0), {"weekday": weekday})


TOY = ClassSetSpec(
    key="signup_day",
    names=Sentence(vi="Ngày đăng ký", zh="注册日", en="Signup day"),
    codes=(
        Code("weekday", "Ngày thường", "工作日", "Weekday", "#90A4AE"),
        Code("weekend", "Cuối tuần", "周末", "Weekend", "#FFB74D"),
    ),
    classify=classify_signup_day,
    params=WeekdayParams,
    evidence=Evidence(sentences={"known": Sentence(vi="thứ {weekday}", zh="星期{weekday}", en="day {weekday}")}),
)


def test_a_new_class_set_is_one_spec_and_one_registration(api: Api, shop: Workspace, config: AppConfig) -> None:
    with CLASS_SETS.registered(TOY):
        catalogue = api.ok('{ classSets { key name(lang: "en") codes { code label(lang: "zh") color } settings } }',
                           None, shop.admin)["classSets"]  # fmt: skip
        toy = next(entry for entry in catalogue if entry["key"] == "signup_day")
        assert toy["codes"] == [
            {"code": "weekday", "label": "工作日", "color": "#90A4AE"},
            {"code": "weekend", "label": "周末", "color": "#FFB74D"},
        ]
        assert (toy["name"], toy["settings"]) == ("Signup day", {"weekend_days": 2})
        query = 'subscription { customerClassChanged(classSet: "signup_day") { customerId current evidence } }'
        with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {shop.admin}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
            api.hub_listening(1)
            customer_id = create_customer(api, shop.admin)
            record_order(api, shop.admin, customer_id, "100000", status="PAID")
            run_worker(config)  # a rescore computes the new set with the others
            event = ws.receive_json()["payload"]["data"]["customerClassChanged"]
        assert event["customerId"] == customer_id and event["current"] in ("weekday", "weekend")
        assert event["evidence"].startswith("day ")
        distribution = api.ok('{ classDistribution(classSet: "signup_day") { code count } }', None, shop.admin)
        assert sum(row["count"] for row in distribution["classDistribution"]) == 1
        changed = api.ok(
            'mutation { updateClassSet(input: {classSet: "signup_day", params: {weekend_days: 1}}) { errors { code } } }',
            None,
            shop.admin,
        )
        assert changed["updateClassSet"]["errors"] == []
        bad = api.gql(
            'mutation { updateClassSet(input: {classSet: "signup_day", params: {weekend_days: 5}}) { errors { field code } } }',
            None,
            shop.admin,
        )
        assert bad["data"]["updateClassSet"]["errors"] == [{"field": "params.weekend_days", "code": "OUT_OF_RANGE"}]
    assert "signup_day" not in CLASS_SETS
