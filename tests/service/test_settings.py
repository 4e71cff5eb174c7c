"""Settings: defaults, a CREDENCE_CONFIG file, environment variables, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import create_app
from service.settings import ConfigError, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.server.port == 8080
    assert settings.database.url == "sqlite:///var/credence.db"
    assert settings.groups["gov:kr"] == 0.5


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[server]\nport = 9000\nworkers = 4\n[groups]\n"gov:ua" = 0.6\n')
    environ = {
        "CREDENCE_CONFIG": str(config),
        "CREDENCE_PORT": "9100",
        "CREDENCE_SCORING_UNKNOWN_SOURCE_STRENGTH": "8",
        "CREDENCE_DATABASE_URL": "postgresql+psycopg://u@h/db",
    }
    settings = load_settings({"server": {"workers": 3}}, environ=environ)
    assert (settings.server.port, settings.server.workers) == (9100, 3)
    assert settings.scoring.unknown_source.strength == 8
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.groups == {"gov:kr": 0.5, "gov:ru": 0.7, "gov:us": 0.4, "gov:ua": 0.6}


def test_the_old_name_of_max_iter_is_still_read(tmp_path: Path) -> None:
    """``[learning] max_iterations`` became ``max_iter`` (ReliabilityEM's name); a
    file or an environment that uses the old name keeps working, and the new name
    wins where one layer gives both."""
    config = tmp_path / "site.toml"
    config.write_text("[learning]\nmax_iterations = 40\n")
    from_file = load_settings(environ={"CREDENCE_CONFIG": str(config)})
    assert from_file.learning.max_iter == 40
    from_env = load_settings(environ={"CREDENCE_LEARNING_MAX_ITERATIONS": "30"})
    assert from_env.learning.max_iter == 30
    both = load_settings({"learning": {"max_iterations": 5, "max_iter": 6}}, environ={})
    assert both.learning.max_iter == 6
    with pytest.raises(ConfigError, match=r"learning\.max_iter"):
        load_settings(environ={"CREDENCE_LEARNING_MAX_ITERATIONS": "0"})


def test_a_retired_key_still_loads(tmp_path: Path) -> None:
    """``[learning] answer_temperature_factor`` (a constant tuned on benchmark truth)
    was retired: a config file that still sets it loads, and the key is ignored."""
    config = tmp_path / "site.toml"
    config.write_text("[learning]\nanswer_temperature_factor = 0.7\nmax_iter = 40\n")
    settings = load_settings(environ={"CREDENCE_CONFIG": str(config)})
    assert settings.learning.max_iter == 40
    assert not hasattr(settings.learning, "answer_temperature_factor")


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"CREDENCE_PORT": "http"}, "server.port"),
        ({"CREDENCE_SCORING_DEFAULT_CLAIM_PRIOR": "1"}, "scoring.default_claim_prior"),
        ({"CREDENCE_GRADES_A_RELIABILITY": "2"}, "grades.A.value.reliability"),
        ({"CREDENCE_DATABASE_URL": "mysql://x"}, "database.url"),
        ({"CREDENCE_LIMITS_PAGE_MAX": "0"}, "limits.page_max"),
    ],
)
def test_invalid_values_name_the_key(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(environ=environ)


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(environ={"CREDENCE_CONFIG": str(tmp_path / "missing.toml")})
    (tmp_path / "bad.toml").write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={"CREDENCE_CONFIG": str(tmp_path / "bad.toml")})


def test_bad_catalogue_entry_stops_the_app(tmp_path: Path) -> None:
    catalogue = tmp_path / "sources.toml"
    catalogue.write_text('[sources."ap"]\nprior = { grade = "Q" }\n')
    with pytest.raises(ConfigError, match=r'sources\."ap"\.prior\.grade'):
        create_app({"sources": {"catalogue": str(catalogue)}, "database": {"url": "sqlite://"}})
