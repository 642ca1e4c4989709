"""The conversion model as it is stored and loaded back: a skops file in GridFS that scores exactly as the
trained model did, whatever its size; bytes that would run code when loaded are refused and nothing runs;
a model saved by another scikit-learn, or in the old pickle format, is not applied and the status says
why; a new model replaces the old one without a moment where none or half of one is found."""

from __future__ import annotations

import asyncio
import functools
import os
import pickle
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from bson import Binary
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient, MongoClient

from domain.config import AppConfig
from domain.db import Database
from domain.rescoring.conversion_models import OLD_FORMAT, ConversionModelRepository, installed_libraries
from domain.workspaces.models import DEFAULT_CLASS_SETTINGS, ConversionModelInfo, Workspace
from scoring.conversion import UntrustedModel, fit_conversion
from scoring.conversion_data import ConversionScorer
from tests.conftest import Api, CommandCounter, create_customer, run_worker
from tests.conftest import Workspace as Shop

SIXTEEN_MB = 16 * 1024 * 1024
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _columns(n: int, seed: int) -> dict[str, np.ndarray]:
    """Columns named as a rescore builds them (scoring/conversion_data.py), so the model also applies there."""
    rng = np.random.default_rng(seed)
    return {
        "quote_30d": rng.poisson(0.6, n).astype(np.float64),
        "visit_30d": rng.poisson(1.5, n).astype(np.float64),
        "city": rng.choice(np.array(["Hà Nội", "Huế", "", "上海"], dtype=object), n),
    }


@pytest.fixture(scope="module")
def scorer() -> ConversionScorer:
    columns = _columns(600, seed=1)
    logit = -2 + 1.5 * columns["quote_30d"] + 0.4 * columns["visit_30d"]
    won = (np.random.default_rng(2).random(600) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return ConversionScorer(fit_conversion(columns, won, categorical={"city"}), (), 1_500_000.0)


FIXED = _columns(200, seed=3)


class _RunsCode:
    """Unpickled, it makes a directory: the stand-in for any code a stored pickle could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def _code_running_pickle(tmp_path: Path) -> tuple[bytes, Path]:
    proof, marker = tmp_path / "proof", tmp_path / "ran"
    pickle.loads(pickle.dumps(_RunsCode(proof)))
    assert proof.is_dir()  # the blob does run code when unpickled
    return pickle.dumps(_RunsCode(marker)), marker


def test_a_stored_model_scores_exactly_as_the_trained_one(scorer: ConversionScorer) -> None:
    loaded = ConversionScorer.from_bytes(scorer.to_bytes())
    assert np.abs(loaded.model.predict_proba(FIXED) - scorer.model.predict_proba(FIXED)).max() <= 1e-12
    assert (loaded.sensitive, loaded.order_value_minor) == (scorer.sensitive, scorer.order_value_minor)
    assert loaded.model.fields == scorer.model.fields


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    blob, marker = _code_running_pickle(tmp_path)
    with pytest.raises(UntrustedModel, match="not a skops file"):
        ConversionScorer.from_bytes(blob)
    assert not marker.exists()


def test_a_file_naming_a_function_outside_the_trusted_types_is_refused(
    scorer: ConversionScorer, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    state = {"model": scorer.model.state(), "sensitive": [], "order_value_minor": functools.partial(os.mkdir, marker)}
    with pytest.raises(UntrustedModel, match=r"posix\.mkdir"):
        ConversionScorer.from_bytes(sio.dumps(state))
    assert not marker.exists()


def _workspace(trained_at: datetime, workspace_id: str = "w1") -> Workspace:
    return Workspace(
        workspace_id, "Shop", "VND", "VN", DEFAULT_CLASS_SETTINGS, conversion=ConversionModelInfo(trained_at, {})
    )


def _with_database[T](config: AppConfig, scenario: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(config.mongodb_uri, tz_aware=True)
        try:
            return await scenario(Database.connect(client, config.mongodb_db))
        finally:
            await client.close()

    return asyncio.run(run())


async def _files(db: Database) -> list[dict[str, Any]]:
    return await db.db["conversion_models.files"].find({}).to_list()


def test_a_model_larger_than_a_document_round_trips(config: AppConfig, scorer: ConversionScorer) -> None:
    # Test-only padding: incompressible bytes carried by the fitted pipeline, as a big model's trees would be.
    padding = np.frombuffer(np.random.default_rng(0).bytes(17 * 1024 * 1024), dtype=np.uint8)
    big = ConversionScorer.from_bytes(scorer.to_bytes())
    big.model.state()["pipeline"].steps[0][1].padding_ = padding

    async def scenario(db: Database) -> tuple[ConversionScorer | None, int]:
        await ConversionModelRepository(db).save("w1", T0, big)
        loaded = await ConversionModelRepository(db).scorer_for(_workspace(T0))
        return loaded, (await _files(db))[0]["length"]

    loaded, length = _with_database(config, scenario)
    assert length > SIXTEEN_MB
    assert loaded is not None
    assert np.array_equal(loaded.model.state()["pipeline"].steps[0][1].padding_, padding)
    assert np.abs(loaded.model.predict_proba(FIXED) - scorer.model.predict_proba(FIXED)).max() <= 1e-12


def test_a_new_model_replaces_the_old_file_and_each_is_loaded_once(
    config: AppConfig, scorer: ConversionScorer, commands: CommandCounter
) -> None:
    later = ConversionScorer(scorer.model, (), 2_000_000.0)

    async def scenario(db: Database) -> None:
        models = ConversionModelRepository(db)
        await models.save("w1", T0, scorer)
        first = await models.scorer_for(_workspace(T0))
        with commands.counting() as again:
            assert await models.scorer_for(_workspace(T0)) is first
        assert again.total == 0  # loaded once per training, not once per batch

        await models.save("w1", T0 + timedelta(days=7), later)
        files = await _files(db)
        assert [file["metadata"]["trained_at"] for file in files] == [T0 + timedelta(days=7)]
        assert files[0]["metadata"]["libraries"] == installed_libraries()
        loaded = await models.scorer_for(_workspace(T0 + timedelta(days=7)))
        assert loaded is not None and loaded.order_value_minor == 2_000_000.0

        # A training that finishes after a newer one leaves the newer in force, and no file of its own.
        assert not await models.save("w1", T0 + timedelta(days=1), scorer)
        assert len(await _files(db)) == 1
        fresh = await ConversionModelRepository(db).scorer_for(_workspace(T0 + timedelta(days=7)))
        assert fresh is not None and fresh.order_value_minor == 2_000_000.0

    _with_database(config, scenario)


def test_a_model_saved_by_another_scikit_learn_is_not_applied_and_says_why(
    config: AppConfig, scorer: ConversionScorer
) -> None:
    async def scenario(db: Database) -> tuple[ConversionScorer | None, str | None]:
        await ConversionModelRepository(db).save("w1", T0, scorer)
        await db.conversion_models.update_one({"_id": "w1"}, {"$set": {"libraries.scikit-learn": "1.5.2"}})
        models = ConversionModelRepository(db)
        return await models.scorer_for(_workspace(T0)), await models.problem(_workspace(T0))

    loaded, problem = _with_database(config, scenario)
    assert loaded is None
    assert problem == (
        f"saved by scikit-learn 1.5.2, this installation has {installed_libraries()['scikit-learn']}; "
        "the next training replaces it"
    )


def test_a_pickle_put_in_place_of_the_file_is_refused_nothing_runs_and_the_status_says_so(
    config: AppConfig, scorer: ConversionScorer, tmp_path: Path
) -> None:
    blob, marker = _code_running_pickle(tmp_path)

    async def scenario(db: Database) -> tuple[ConversionScorer | None, str | None]:
        await ConversionModelRepository(db).save("w1", T0, scorer)
        # Someone who can write the database swaps the file the workspace points at.
        swapped = await AsyncGridFSBucket(db.db, bucket_name="conversion_models").upload_from_stream("w1", blob)
        await db.conversion_models.update_one({"_id": "w1"}, {"$set": {"file_id": swapped}})
        loaded = await ConversionModelRepository(db).scorer_for(_workspace(T0))
        return loaded, await ConversionModelRepository(db).problem(_workspace(T0))

    loaded, problem = _with_database(config, scenario)
    assert loaded is None and not marker.exists()
    assert problem is not None and problem.startswith("refused: the stored model is not a skops file")


def test_an_old_pickle_document_is_not_loaded_and_the_next_training_replaces_it(
    config: AppConfig, scorer: ConversionScorer, tmp_path: Path
) -> None:
    blob, marker = _code_running_pickle(tmp_path)

    async def scenario(db: Database) -> tuple[ConversionScorer | None, str | None, ConversionScorer | None]:
        await db.conversion_models.insert_one({"_id": "w1", "trained_at": T0, "model": Binary(blob)})
        models = ConversionModelRepository(db)
        old, problem = await models.scorer_for(_workspace(T0)), await models.problem(_workspace(T0))
        await models.save("w1", T0 + timedelta(days=7), scorer)
        return old, problem, await models.scorer_for(_workspace(T0 + timedelta(days=7)))

    old, problem, retrained = _with_database(config, scenario)
    assert old is None and not marker.exists() and problem == OLD_FORMAT
    assert retrained is not None


LEAD = "query($id: ID!) { customer(id: $id) { lead { model probability } } }"
MODEL = "{ conversionModel { status problem trainedAt } }"
QUOTE = "mutation($c: ID!) { recordInteraction(input: {customerId: $c, kind: QUOTE}) { errors { code } } }"


def _stored_as_trained(config: AppConfig, shop: Shop, scorer: ConversionScorer) -> None:
    """The model in force as a training job leaves it: the file, then the workspace naming it."""

    async def scenario(db: Database) -> None:
        await ConversionModelRepository(db).save(shop.id, T0, scorer)
        await db.workspaces.update_one({"_id": shop.id}, {"$set": {"conversion": {"trained_at": T0, "card": {}}}})

    _with_database(config, scenario)


def test_leads_fall_back_to_rules_when_the_model_was_saved_by_another_scikit_learn(
    api: Api, shop: Shop, config: AppConfig, scorer: ConversionScorer
) -> None:
    lead = create_customer(api, shop.admin, name="Trần Thị Keen")
    api.ok(QUOTE, {"c": lead}, shop.admin)
    _stored_as_trained(config, shop, scorer)
    run_worker(config)
    assert api.ok(MODEL, None, shop.admin)["conversionModel"]["status"] == "TRAINED"
    assert api.ok(LEAD, {"id": lead}, shop.admin)["customer"]["lead"]["model"] == "LEARNED"

    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        client[config.mongodb_db]["conversion_models"].update_one(
            {"_id": shop.id}, {"$set": {"libraries.scikit-learn": "1.5.2"}}
        )
    finally:
        client.close()
    api.ok(QUOTE, {"c": lead}, shop.admin)
    run_worker(config)
    assert api.ok(LEAD, {"id": lead}, shop.admin)["customer"]["lead"] == {"model": "RULES", "probability": None}
    model = api.ok(MODEL, None, shop.admin)["conversionModel"]
    assert model["status"] == "UNUSABLE" and model["trainedAt"]
    assert model["problem"].startswith("saved by scikit-learn 1.5.2, this installation has ")
