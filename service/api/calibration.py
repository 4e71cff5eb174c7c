"""GET /v1/calibration: how well the forecasts of resolved claims matched their outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
from marshmallow import RAISE
from sqlalchemy import select

from scoring import metrics
from service.api.blueprint import Blueprint
from service.schemas.requests import CalibrationQuerySchema
from service.schemas.responses import CalibrationSchema, iso_time
from service.store.models import Attribution, Claim, ClaimTag, Resolution
from service.store.resolutions import forecast_attribution
from service.web.auth import requires
from service.web.database import get_session

blp = Blueprint(
    "calibration", __name__, url_prefix="/v1", description="Calibration of past scores."
)


@blp.route("/calibration", methods=["GET"])
@blp.arguments(CalibrationQuerySchema, location="query", unknown=RAISE)
@blp.alt_response(200, schema=CalibrationSchema, success=True, description="Scores and bins.")
@requires("read")
def calibration(args: dict[str, Any]) -> dict[str, Any]:
    """Brier score, log loss, expected calibration error and reliability-diagram bins.

    Each resolved claim counts once: its forecast (the confidence it had when
    resolved) against its outcome (confirmed = 1). A claim stored only after its
    outcome was recorded (an answer to a numeric question resolved before) was
    never a forecast, and does not count. `source` keeps the claims that source
    took a side on before their outcomes were recorded; `tag` the claims with that
    tag; `since` the resolutions with `resolved_at` at or after it. No matching
    resolution: count 0, null scores, no bins.
    """
    session = get_session()
    query = (
        select(Resolution.forecast, Resolution.outcome)
        .join(Claim, Claim.id == Resolution.claim_id)
        .where(Claim.created_at <= Resolution.created_at)
    )
    # IN (subquery), not a correlated EXISTS: SQLite probed the source's (or tag's)
    # rows through their index once for every resolution (1 M attributions, 20,000
    # resolutions: 350 ms for a source on 100 claims, minutes for one on 100,000),
    # where the subquery reads them once (1 ms and 110 ms).
    if "source" in args:
        query = query.where(
            Resolution.claim_id.in_(
                select(Attribution.claim_id)
                .outerjoin(Resolution, Resolution.claim_id == Attribution.claim_id)
                .where(
                    Attribution.source_id == args["source"],
                    Attribution.stance != "neutral",
                    forecast_attribution(session.get_bind().dialect.name),
                )
            )
        )
    if "tag" in args:
        query = query.where(
            Resolution.claim_id.in_(select(ClaimTag.claim_id).where(ClaimTag.tag == args["tag"]))
        )
    if "since" in args:
        query = query.where(Resolution.resolved_at >= args["since"])
    rows = session.execute(query).all()
    forecast = np.array([f for f, _ in rows], dtype=float)
    outcome = np.array([o == "confirmed" for _, o in rows], dtype=float)
    filters = {
        "source": args.get("source"),
        "tag": args.get("tag"),
        "since": iso_time(args.get("since")),
    }
    confirmed = int(outcome.sum())
    document: dict[str, Any] = {
        "count": len(rows),
        "confirmed": confirmed,
        "refuted": len(rows) - confirmed,
        "brier_score": None,
        "log_loss": None,
        "expected_calibration_error": None,
        "bins": [],
        "filters": filters,
    }
    if not rows:
        return document
    n_bins = args["bins"]
    bins = metrics.reliability_bins(outcome, forecast, n_bins)
    document.update(
        brier_score=metrics.brier_score(outcome, forecast),
        log_loss=metrics.log_loss(outcome, forecast),
        expected_calibration_error=metrics.expected_calibration_error(outcome, forecast, n_bins),
        bins=[
            {"lower": lo, "upper": up, "predicted": p, "observed": o, "count": n}
            for lo, up, p, o, n in zip(
                bins.lower.tolist(),
                bins.upper.tolist(),
                bins.predicted.tolist(),
                bins.observed.tolist(),
                bins.count.tolist(),
                strict=True,
            )
        ],
    )
    return document
