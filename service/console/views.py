"""The console's pages: claims, a claim, a question, sources, calibration, jobs.

Pages are rendered on the server from what ``data`` returns (the API's own
answers); forms post back here and redirect to the page they changed
(post/redirect/get), or show the page again with the API's field errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    stream_with_context,
    url_for,
)
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response as BaseResponse

from service.console import data, forms, guard, plots
from service.formats.claim_table import claims_csv

bp = Blueprint(
    "console",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/console/static",
)

# Pages anyone may open: the key form, the API docs and their files.
_OPEN = {"console.login", "console.static", "console.docs", "console.docs_file"}

# Confirmations shown after a form succeeded, by the ``done`` query value.
DONE = {
    "attribution": "Attribution added; the claim was rescored.",
    "resolved": "Claim resolved.",
    "withdrawn": "Resolution withdrawn; the claim is open again.",
    "source": "Source saved.",
}


@bp.before_request
def _identify() -> BaseResponse | tuple[str, int] | None:
    g.key_ring = data.key_ring()
    try:
        g.role = guard.caller_role(g.key_ring, request)
        if request.method == "POST":
            guard.check_same_origin(request)
    except guard.Refusal as refusal:
        return _error(refusal.status, refusal.detail)
    if g.role is None and request.endpoint not in _OPEN:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    broken = data.broken_ids(request.view_args)
    if broken:
        return _error(422, "The id in the path breaks the id rule.", broken)
    return None


@bp.after_request
def _cookies(response: Response) -> Response:
    guard.remember_csrf(request, response)
    return response


@bp.context_processor
def _page_globals() -> dict[str, Any]:
    return {
        "role": g.get("role"),
        "keys_required": bool(g.key_ring.keys),
        "csrf_field": guard.CSRF_FIELD,
        "csrf_token": lambda: guard.csrf_token(request),
        "may": lambda endpoint: data.may(g.get("role"), endpoint),
        "ops": data,
        "plots": plots,
        "percent": plots.percent,
        "done": DONE.get(request.args.get("done", "")),
    }


def _error(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> tuple[str, int]:
    return render_template(
        "console/error.html", status=status, detail=detail, errors=errors
    ), status


@bp.errorhandler(data.Refused)
def _refused(refused: data.Refused) -> tuple[str, int]:
    """What the API refused, as a page (views catch the refusals they show in a form)."""
    return _error(refused.status, refused.detail, refused.errors)


@bp.route("/")
def claims() -> str | tuple[str, int]:
    query = forms.claim_query(request.args)
    try:
        page = data.claims(g.role, query)
    except data.Refused as refused:
        if refused.status != 422:
            raise
        page, errors = {"claims": [], "next_cursor": None}, refused.errors
        # The form's confidence bounds are percents; the API's rule speaks of 0 to 1.
        for name in ("min_confidence", "max_confidence"):
            if name in errors:
                errors[name] = ["Must be a number from 0 to 100 (%)."]
    else:
        errors = {}
    filters: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor"}
    return render_template(
        "console/claims.html",
        page=page,
        filters=request.args,
        errors=errors,
        download=url_for("console.claims_download", **filters),
    )


@bp.route("/claims.csv")
def claims_download() -> Response:
    """Every claim the list's filters keep, in one CSV file a spreadsheet opens: UTF-8
    after a byte order mark, without which Excel reads the file in the machine's
    code page and garbles every name with an accent. Written page by page as the API
    reads them, so a large store streams instead of filling memory."""
    query = forms.claim_query(request.args)
    query.pop("cursor", None)
    pages = data.claim_pages(g.role, query)
    # Bad filters are refused here, as a page, before the file starts.
    first = next(pages)

    def parts() -> Iterator[str]:
        yield "\ufeff" + claims_csv(first)
        for claims in pages:
            yield claims_csv(claims, header=False)

    return Response(
        stream_with_context(parts()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="credence-claims.csv"'},
    )


def _claim_page(
    claim_id: str, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    claim = data.claim(g.role, claim_id)
    history = data.history(g.role, claim_id)
    score = claim["score"]
    resolution = claim.get("resolution")
    final = resolution["forecast"] if resolution else score["confidence"]
    prior = claim["prior"] if claim["prior"] is not None else data.default_prior()
    # What besides the weights moved the score: with a learned model its base rates and
    # calibration (the prior row is then the one a claim keeps without one).
    structure = data.learned_structure()
    adjustment = "evidence cap" if structure is None else f"learned model ({structure})"
    if claim["question"]:
        adjustment += f" and share among the answers of ? {claim['question']}"
    steps = plots.waterfall_steps(score["evidence"], prior, final, adjustment)
    oldest_first = list(reversed(history))
    points = [
        plots.Point(h["confidence"], h["interval"][0], h["interval"][1], _history_title(h))
        for h in oldest_first
    ]
    page = render_template(
        "console/claim.html",
        undefined=data.undefined_notes(request.args.getlist("undefined")),
        claim=claim,
        score=score,
        steps=steps,
        domain=plots.waterfall_domain(steps),
        history=history,
        points=points,
        errors=errors or {},
    )
    return page, status


def _history_title(entry: dict[str, Any]) -> str:
    title = f"{entry['computed_at'][:16].replace('T', ' ')} {entry['reason']}"
    if entry["changes"]:
        title += ": " + ", ".join(c["source"] for c in entry["changes"][:3])
    return title


@bp.route("/claims/<slug:claim_id>")
def claim(claim_id: str) -> Any:
    return _claim_page(claim_id)


@bp.route("/claims/<slug:claim_id>/attributions", methods=["POST"])
def add_attribution(claim_id: str) -> Any:
    attribution = forms.attribution(request.form)
    try:
        data.add_attribution(g.role, claim_id, attribution)
    except data.Refused as refused:
        return _claim_page(claim_id, _prefixed("attribution", refused), refused.status)
    # The page the browser is sent to warns of the ids it named that are defined
    # nowhere (a typo is stored, scored with the unknown-source prior).
    named = [attribution["source"], *attribution.get("via", ())]
    return redirect(
        url_for("console.claim", claim_id=claim_id, done="attribution", undefined=named)
    )


@bp.route("/claims/<slug:claim_id>/resolution", methods=["POST"])
def resolve(claim_id: str) -> Any:
    try:
        if request.form.get("action") == "withdraw":
            data.withdraw(g.role, claim_id)
            done = "withdrawn"
        else:
            data.resolve(g.role, claim_id, forms.resolution(request.form))
            done = "resolved"
    except data.Refused as refused:
        return _claim_page(claim_id, _prefixed("resolution", refused), refused.status)
    return redirect(url_for("console.claim", claim_id=claim_id, done=done))


def _prefixed(form: str, refused: data.Refused) -> dict[str, list[str]]:
    """A refusal's field errors (or its detail) under the form's name."""
    errors = {f"{form}.{name}": messages for name, messages in refused.errors.items()}
    return errors or {form: [refused.detail]}


@bp.route("/questions/<slug:question_id>")
def question(question_id: str) -> Any:
    document = data.question_answers(g.role, question_id)
    answers = sorted(document["answers"], key=lambda c: -(c["score"] or {}).get("confidence", 0))
    return render_template(
        "console/question.html",
        question=document,
        answers=answers,
    )


@bp.route("/questions")
def questions() -> Any:
    page = data.questions(g.role, {"limit": 50, **forms.filled(request.args, ("cursor",))})
    return render_template("console/questions.html", page=page)


@bp.route("/sources")
def sources() -> Any:
    page = data.sources(g.role, {"limit": 100, **forms.filled(request.args, ("cursor",))})
    return render_template("console/sources.html", page=page)


@bp.route("/sources/<slug:source_id>")
def source(source_id: str) -> Any:
    return _source_page(source_id)


def _source_page(
    source_id: str | None, errors: dict[str, list[str]] | None = None, status: int = 200
) -> Any:
    role = g.role
    document = None
    if source_id is not None:
        try:
            document = data.source(role, source_id)
        except data.Refused as refused:
            if refused.status != 404 or not errors:
                raise
    spoke: dict[str, Any] = {"claims": [], "next_cursor": None}
    trajectory: list[dict[str, Any]] = []
    if document is not None:
        spoke = data.claims(role, {"source": document["id"], "limit": 20})
        trajectory = data.reliability_across_jobs(document["id"])
    points = [
        plots.Point(t["reliability"], t["low"], t["high"], f"job {t['job_id'][:8]}")
        for t in trajectory
    ]
    return render_template(
        "console/source.html",
        source=document,
        source_id=source_id,
        bands=data.grade_bands(),
        spoke=spoke,
        trajectory=trajectory,
        points=points,
        group=data.group_members(document["group"]) if document else [],
        errors=errors or {},
        form=request.form if request.method == "POST" else None,
    ), status


@bp.route("/sources/new")
def new_source() -> Any:
    return _source_page(None)


@bp.route("/sources", methods=["POST"])
@bp.route("/sources/<slug:source_id>", methods=["POST"])
def save_source(source_id: str | None = None) -> Any:
    if source_id is None:
        # The "define a source" form: it defines a new one and never replaces one.
        source_id = request.form.get("id", "").strip()
        if not source_id:
            return _source_page(None, {"source.id": ["Give the source an id."]}, 422)
        if data.is_defined(g.role, source_id):
            taken = f"{source_id} is defined already: change it on its own page."
            return _source_page(None, {"source.id": [taken]}, 409)
    try:
        data.put_source(g.role, source_id, forms.source(request.form))
    except data.Refused as refused:
        return _source_page(source_id, _prefixed("source", refused), refused.status)
    return redirect(url_for("console.source", source_id=source_id, done="source"))


@bp.route("/calibration")
def calibration() -> Any:
    query = forms.filled(request.args, ("source", "tag", "since", "bins"))
    try:
        document = data.calibration(g.role, query)
    except data.Refused as refused:
        if refused.status != 422:
            raise
        return render_template(
            "console/calibration.html", document=None, filters=request.args, errors=refused.errors
        ), 422
    return render_template(
        "console/calibration.html", document=document, filters=request.args, errors={}
    )


@bp.route("/jobs")
def jobs() -> Any:
    page = data.jobs(g.role, forms.filled(request.args, ("cursor",)))
    return render_template("console/jobs.html", jobs=page["jobs"], next_cursor=page["next_cursor"])


@bp.route("/jobs", methods=["POST"])
def start_job() -> Any:
    job_id = data.start_job(g.role)
    return redirect(url_for("console.job", job_id=job_id))


@bp.route("/jobs/<job_id:job_id>")
def job(job_id: str) -> Any:
    document = data.job(g.role, job_id)
    finished = document["status"] in ("succeeded", "failed")
    return render_template("console/job.html", job=document, finished=finished)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = _local(request.values.get("next", ""))
    if request.method == "GET":
        return render_template("console/login.html", target=target, refused=None)
    key = request.form.get("key", "").strip()
    role = g.key_ring.role_of(key) if key else None
    if role is None:
        return render_template(
            "console/login.html", target=target, refused="That key is not valid."
        ), 401
    response = redirect(target)
    # A session cookie (no expiry): gone when the browser session ends.
    response.set_cookie(guard.KEY_COOKIE, key, **guard.cookie_options(request))  # type: ignore[arg-type]
    return response


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    response = redirect(url_for("console.login"))
    response.delete_cookie(guard.KEY_COOKIE, path="/", httponly=True, samesite="Strict")
    return response


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else the claim list (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("console.claims")
    return target


@bp.route("/docs")
def docs() -> str:
    return render_template("console/docs.html")


@bp.route("/docs/swagger-ui/<path:filename>")
def docs_file(filename: str) -> Response:
    """Swagger UI's own files, from the swagger-ui-bundle package (no CDN)."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=3600)


def register(app: Flask) -> None:
    """Serve the console and /docs from ``app``, every HTML response with its security headers."""
    app.register_blueprint(bp)
    app.after_request(guard.protect_html)
