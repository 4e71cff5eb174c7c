"""The console's forms as the API's request bodies: shape only, the API judges values."""

from __future__ import annotations

from service.console import forms


def test_claim_query_turns_percent_into_probability_and_drops_blanks() -> None:
    query = forms.claim_query(
        {"q": " canal ", "status": "", "min_confidence": "40", "max_confidence": "x"}
    )
    assert query == {
        "q": "canal",
        "min_confidence": 0.4,
        "max_confidence": "x",
        "limit": forms.PAGE_SIZE,
    }


def test_attribution_splits_the_relay_chain_and_reads_numbers() -> None:
    body = forms.attribution(
        {
            "source": "kr-nis",
            "stance": "supports",
            "via": "kr-media, ap ,",
            "certainty": "0.6",
            "count": "2",
        }
    )
    assert body == {
        "source": "kr-nis",
        "stance": "supports",
        "via": ["kr-media", "ap"],
        "certainty": 0.6,
        "count": 2,
    }
    # What does not read as a number is passed on for the API's schema to refuse by name.
    assert forms.attribution({"source": "a", "certainty": "high"})["certainty"] == "high"


def test_source_takes_only_the_chosen_priors_fields() -> None:
    form = {
        "name": "NIS",
        "prior_kind": "reliability",
        "prior_reliability": "0.7",
        "prior_strength": "10",
        "prior_grade": "B",
        "prior_alpha": "3",
    }
    assert forms.source(form) == {"name": "NIS", "prior": {"reliability": 0.7, "strength": 10}}
    assert forms.source({**form, "prior_kind": "grade"})["prior"] == {"grade": "B"}
    assert "prior" not in forms.source({**form, "prior_kind": ""})
