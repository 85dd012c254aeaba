from pingan.assembly import load_modules
from pingan.core.i18n import missing_keys, normalise_language, translate


def test_default_is_chinese_and_english_is_available() -> None:
    assert translate("core.error.not_found") == "未找到该记录"
    assert translate("core.error.not_found", "en") == "Not found"
    assert translate("core.error.invalid", "en", field="phone") == "Field phone is invalid"


def test_accept_language_is_mapped() -> None:
    assert normalise_language("en-GB,en;q=0.9") == "en"
    assert normalise_language("zh-TW") == "zh-CN"
    assert normalise_language("fr") == "zh-CN"
    assert normalise_language(None) == "zh-CN"


def test_a_missing_key_shows_the_key() -> None:
    assert translate("no.such.key", "en") == "no.such.key"


def test_every_message_exists_in_both_languages() -> None:
    load_modules()
    import pingan.cli  # noqa: F401  (registers the CLI catalogue)

    missing = missing_keys()
    assert missing == {"zh-CN": set(), "en": set()}, missing
