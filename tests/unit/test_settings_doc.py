"""docs/settings.md is generated from the `Settings` model (`teezu.settings_doc`)."""

from __future__ import annotations

import pytest

from teezu import settings_doc
from teezu.settings import Settings


def test_every_setting_says_what_it_is():
    undescribed = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert not undescribed, f"give these fields a docstring in teezu/settings.py: {undescribed}"


def test_every_setting_is_in_a_section():
    listed = [name for _, names in settings_doc.sections() for name in names]
    assert sorted(listed) == sorted(Settings.model_fields)


def test_docs_settings_md_is_current():
    if settings_doc.DOC.read_text() != settings_doc.render():
        pytest.fail(f"docs/settings.md is stale: regenerate it with `{settings_doc.COMMAND}`")


def test_the_check_command_tells_how_to_regenerate(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "settings.md"
    stale.write_text("# Settings\n")
    monkeypatch.setattr(settings_doc, "DOC", stale)
    assert settings_doc.main(["--check"]) == 1
    assert settings_doc.COMMAND in capsys.readouterr().err
    assert settings_doc.main([]) == 0
    assert settings_doc.main(["--check"]) == 0
    assert "`TEEZU_PLAYBACK_TOKEN_TTL` | integer (≥ 60, ≤ 3600) | `300` |" in stale.read_text()
