"""The translation catalog is complete and consistent."""

from __future__ import annotations

import re
import string

from edutrust import i18n


def test_every_message_has_chinese_and_english_with_the_same_placeholders() -> None:
    for key, entry in i18n.CATALOG.items():
        assert set(entry) == {"zh", "en"}, key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f}
                  for lang in ("zh", "en")]
        assert fields[0] == fields[1], key


def test_chinese_messages_are_written_in_chinese() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    assert all(han.search(entry["zh"]) for entry in i18n.CATALOG.values())


def test_every_catalog_key_used_in_code_exists() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used: set[str] = set()
    pattern = re.compile(r"""(?:say|CliError|NegativeAnswer|translate|PlatformError)\(\s*"""
                         r"""["']([a-z_]+\.[a-z_.]+)["']""")
    for path in [*root.glob("edutrust/**/*.py"), *root.glob("idp/**/*.py")]:
        used.update(pattern.findall(path.read_text()))
    assert used, "the pattern found no message keys at all"
    assert used <= set(i18n.CATALOG), used - set(i18n.CATALOG)


def test_negotiation_prefers_ui_locales_then_accept_language_then_chinese() -> None:
    assert i18n.negotiate("en-US zh", [("zh-CN", 1.0)]) == "en"
    assert i18n.negotiate(None, [("fr", 1.0), ("en-GB", 0.8)]) == "en"
    assert i18n.negotiate("fr", [("de", 1.0)]) == "zh"
    assert i18n.negotiate(None, [("en", 0.3), ("zh-CN", 0.9)]) == "zh"
