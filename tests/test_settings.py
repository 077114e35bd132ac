"""Settings as an operator sets them: environment variables, parsed once, checked at start."""

import pytest

from microblog.settings import DEFAULT_SECRET, Settings, SettingsError


def test_the_environment_is_read_by_from_env_only(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-0123456789")
    monkeypatch.setenv("REDIS_NAMESPACE", "elsewhere")
    assert Settings.from_env().secret_key == "from-the-environment-0123456789"
    built = Settings(database_url="postgres://db/x")
    assert built.secret_key == DEFAULT_SECRET and built.redis_namespace == "microblog"


def test_variables_are_parsed_like_an_operator_writes_them():
    s = Settings.from_env({
        "PUBLIC_URL": "https://example.com/", "ADMINS": " alice, bob,,", "MAIL_USE_TLS": "Yes",
        "MAIL_PORT": "", "LOG_FORMAT": "JSON", "ALLOWED_ORIGINS": "http://a:1,http://b:2",
        "REDIS_NAMESPACE": "blue", "SHUTDOWN_DELAY": "1.5"})
    assert s.public_url == "https://example.com"
    assert s.cookie_secure  # follows an https PUBLIC_URL unless COOKIE_SECURE says otherwise
    assert s.admins == ("alice", "bob") and s.mail_use_tls and s.mail_port == 25
    assert s.log_format == "json" and s.shutdown_delay == 1.5
    assert s.cors_origins == ["http://a:1", "http://b:2", "https://example.com"]
    assert (s.queue_name, s.socketio_channel) == ("blue:jobs", "blue:socketio")
    assert not Settings.from_env({"PUBLIC_URL": "https://x.org", "COOKIE_SECURE": "off"}) \
        .cookie_secure


@pytest.mark.parametrize(("variable", "value"), [
    ("MAIL_PORT", "smtp"), ("SHUTDOWN_DELAY", "5"), ("LOG_FORMAT", "xml"),
    ("MAIL_USE_TLS", "maybe"), ("PUBLIC_URL", "example.com"), ("DB_POOL_MAX", "0"),
    ("METRICS_ALLOWED", "localhost")])
def test_a_value_the_app_cannot_run_with_names_its_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})


def test_settings_are_immutable_and_with_validates():
    s = Settings()
    with pytest.raises(ValueError, match="frozen"):
        s.redis_namespace = "other"  # type: ignore[misc]
    assert s.with_(redis_namespace="other").redis_namespace == "other"
    with pytest.raises(SettingsError, match="MAIL_PORT"):
        s.with_(mail_port=0)
    with pytest.raises(SettingsError, match="not a setting"):
        Settings(testing=True)


def test_a_secret_never_shows_in_an_error_or_a_repr():
    with pytest.raises(SettingsError) as raised:
        Settings(secret_key=12345678901234567)  # not a string
    assert "12345678901234567" not in str(raised.value)
    assert "hunter2" not in repr(Settings(mail_password="hunter2"))
