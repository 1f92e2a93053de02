"""Settings grouped by concern still read the same variables into the same flat attributes, and
docs/configuration.md is what the settings class generates."""

from __future__ import annotations

import os

import pydantic
import pytest

from pagestream.streams import settings_reference
from pagestream.streams.settings import BridgeSettings, KafkaSettings, Settings
from tests.conftest import REPO


def test_configuration_reference_is_up_to_date() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == settings_reference.render(), (
        f"docs/configuration.md is out of date with streams/settings.py: run `{settings_reference.COMMAND}`"
    )


def test_every_setting_is_in_exactly_one_group() -> None:
    names = [name for group in settings_reference.groups() for name in group.model_fields]
    assert sorted(names) == sorted(Settings.model_fields)
    assert KafkaSettings in settings_reference.groups() and BridgeSettings in settings_reference.groups()


def test_grouped_fields_read_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("PAGESTREAM_")]:
        monkeypatch.delenv(name)  # this test's variables only
    monkeypatch.setenv("PAGESTREAM_KAFKA_PORT", "1234")  # kafka
    monkeypatch.setenv("PAGESTREAM_REGISTRY_URL", "http://registry.example/api")  # an alias
    monkeypatch.setenv("PAGESTREAM_S3_PORT", "9100")  # storage
    monkeypatch.setenv("PAGESTREAM_OCR_TENANT_ENGINES", '{"acme": "ppocr"}')  # JSON
    monkeypatch.setenv("PAGESTREAM_AUTH", "on")  # a Literal, security
    monkeypatch.setenv("PAGESTREAM_FAULTS", '{"OCR:drill": 2}')  # testing
    monkeypatch.setenv("PAGESTREAM_STATE_DIR", "/tmp/ps-state")  # combined with other groups
    settings = Settings()
    assert settings.bootstrap_servers == "127.0.0.1:1234"
    assert settings.registry_url == "http://registry.example/api"
    assert settings.s3_endpoint == "http://127.0.0.1:9100"
    assert settings.ocr_engine_for("acme") == "ppocr" and settings.ocr_engine_for("other") == "tesseract"
    assert settings.auth == "on" and settings.faults == {"OCR:drill": 2}
    assert settings.clickhouse_dsn == "chdb:///tmp/ps-state/clickhouse"
    assert str(settings.tenants_file) == "/tmp/ps-state/tenants.json"

    monkeypatch.setenv("PAGESTREAM_AUTH", "maybe")
    with pytest.raises(pydantic.ValidationError, match="auth"):
        Settings()


def test_copies_and_derived_values_follow_updates() -> None:
    settings = Settings(kafka_bootstrap=None, ocr_concurrency=0, pool_processes=3, bridge_host="127.0.0.1")
    assert settings.in_flight_pages == 6
    copy = settings.model_copy(update={"kafka_bootstrap": "broker:9092", "ocr_concurrency": 2, "bridge_port": 1})
    assert (copy.bootstrap_servers, copy.in_flight_pages, copy.bridge_url) == ("broker:9092", 2, "http://127.0.0.1:1")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.bridge_port = 2  # type: ignore[misc]


def test_exactly_once_is_refused_with_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """exactly_once was removed (docs/delivery.md, 'Exactly-once, removed'): setting it stops every
    command with one line that names the variable and the accepted value, not a traceback."""
    from pagestream.streams.cli.main import main

    monkeypatch.setenv("PAGESTREAM_PROCESSING_GUARANTEE", "exactly_once")
    with pytest.raises(pydantic.ValidationError, match=r"exactly_once was removed.*accepted value is at_least_once"):
        Settings()
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pagestream: PAGESTREAM_PROCESSING_GUARANTEE: exactly_once was removed")
    assert "accepted value is at_least_once" in err and "Traceback" not in err
    monkeypatch.setenv("PAGESTREAM_PROCESSING_GUARANTEE", "at_least_once")
    assert Settings().processing_guarantee == "at_least_once"
