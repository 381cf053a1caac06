"""One TOML file, environment overrides, and one clear line for every mistake."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.config import DEFAULT_CONFIG_TEXT, Settings, load_config
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_no_file_means_the_laptop_defaults():
    settings = load_config(None, environ={})
    assert (settings.smtp.host, settings.smtp.port) == ("127.0.0.1", 2525)
    assert (settings.relay.host, settings.relay.port) == ("127.0.0.1", 25)
    assert settings.database.url == "sqlite:///gateway.db"


def test_the_shipped_file_states_every_key_with_its_default():
    from_file = load_config(ROOT / "gateway" / "default_config.toml", environ={})
    # The one difference: a relative SQLite path is taken from the file's folder.
    assert from_file.database.url == f"sqlite:///{ROOT / 'gateway' / 'gateway.db'}"
    assert dataclasses.replace(from_file, sources=(), database=Settings().database) == Settings()
    every_key = {f"{section.name}.{key.name}" for section in dataclasses.fields(Settings)
                 if section.name != "sources" for key in dataclasses.fields(getattr(Settings(), section.name))}
    assert {key for key, _ in from_file.sources} == every_key


def test_the_example_in_deploy_is_the_same_documented_file():
    assert (ROOT / "deploy" / "gateway.example.toml").read_text() == DEFAULT_CONFIG_TEXT


def test_a_file_sets_keys_and_durations(tmp_path):
    path = write(tmp_path, '[smtp]\nport = 2600\n[threading]\nwindow = "3d"\n')
    settings = load_config(path, environ={})
    assert settings.smtp.port == 2600 and settings.threading.window == timedelta(days=3)
    assert ("smtp.port", str(path)) in settings.sources


def test_the_environment_overrides_the_file_and_says_so(tmp_path):
    path = write(tmp_path, "[smtp]\nport = 2600\n")
    settings = load_config(path, environ={"GATEWAY_SMTP_PORT": "2700", "GATEWAY_MAIL_ADDRESSES": "a@x.org, b@x.org",
                                          "GATEWAY_RELAY_STARTTLS": "yes"})
    assert settings.smtp.port == 2700
    assert settings.mail.addresses == ("a@x.org", "b@x.org")
    assert settings.relay.starttls is True
    assert ("smtp.port", "env GATEWAY_SMTP_PORT") in settings.sources


def test_a_key_with_an_underscore_is_reachable_from_the_environment():
    settings = load_config(None, environ={"GATEWAY_SMTP_MAX_MESSAGE_SIZE": "1000"})
    assert settings.smtp.max_message_size == 1000


@pytest.mark.parametrize(("text", "env", "says"), [
    ("[smtp]\nport = \"many\"\n", {}, "[smtp] port"),
    ("[smtp]\nprot = 25\n", {}, "unknown key [smtp] prot"),
    ("[smpt]\nport = 25\n", {}, "unknown section [smpt]"),
    ("[threading]\nwindow = \"a week\"\n", {}, "write it like 30m, 4h or 7d"),
    ("[surveys]\ndelay = \"99999999999d\"\n", {}, "[surveys] delay: '99999999999d' is too long a duration"),
    ("[smtp\nport = 25\n", {}, "not valid TOML"),
    ("", {"GATEWAY_SMTP_PORT": "x"}, "[smtp] port"),
    ("", {"GATEWAY_MAIL_ADDRESSES": ""}, "[mail] addresses"),
    ("[logging]\nlevel = \"loud\"\n", {}, "[logging] level"),
    ("[database]\nurl = \"mysql://x/y\"\n", {}, "[database] url"),
    ("[smtp]\ntls_cert = \"c.pem\"\n", {}, "set both"),
    ("", {"GATEWAY_SMTP_PORT": "70000"}, "[smtp] port: 70000 is not a port"),
    ("[relay]\nport = 99999999999999999999\n", {}, "[relay] port"),
    ("[storage]\nkeep_raw = 365\n", {}, "[storage] keep_raw: 365 has no unit; write 365d"),
    ("", {"GATEWAY_THREADING_WINDOW": "7"}, "[threading] window: '7' has no unit; write 7d"),
])
def test_a_bad_config_is_one_line_saying_what_and_where(tmp_path, text, env, says):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text), environ=env)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_a_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(ConfigError, match="gateway init"):
        load_config(tmp_path / "nope.toml", environ={})


def test_relative_paths_in_the_file_are_next_to_the_file_not_the_working_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "gateway.toml").write_text('[database]\nurl = "sqlite:///data/gateway.db"\n'
                                         '[agents]\nsaved_replies = "replies"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_config(folder / "gateway.toml", environ={})
    assert settings.database.url == f"sqlite:///{folder.resolve()}/data/gateway.db"
    assert settings.agents.saved_replies == str(folder.resolve() / "replies")
    from_env = load_config(folder / "gateway.toml", environ={"GATEWAY_DATABASE_URL": "sqlite:///here.db"})
    assert from_env.database.url == "sqlite:///here.db", "the environment is read from the working folder"


def test_imap_mailboxes_are_tables_with_one_line_for_each_mistake(tmp_path):
    path = write(tmp_path, '[imap]\nidle = false\n[[imap.mailbox]]\nhost = "imap.example.com"\nuser = "support"\n'
                           'password_file = "secret"\nafter = "move"\nmove_to = "Done"\n')
    [box] = load_config(path, environ={}).imap.mailbox
    assert (box.host, box.server_port, box.password_file) == ("imap.example.com", 993, str(tmp_path / "secret"))
    assert box.key == "support@imap.example.com:993/INBOX"
    for text, says in [
        ('[[imap.mailbox]]\nhost = "h"\nuser = "u"\n', "set password or password_file"),
        ('[[imap.mailbox]]\nhost = "h"\nuser = "u"\npassword = "p"\nafter = "move"\n', "needs move_to"),
        ('[[imap.mailbox]]\nhost = "h"\nuser = "u"\npassword = "p"\nsecurity = "ssl"\n', "security: 'ssl'"),
        ('[[imap.mailbox]]\nhost = "h"\nuser = "u"\npassword = "p"\nbogus = 1\n', "[[imap.mailbox]] #1: unknown"),
        ('[imap]\nmailbox = []\n[[imap.mailbox]]\nhost = "h"\n', "delete `mailbox = []`"),
        ('[imap]\nidle_renew = "30m"\n', "keep it under 29m"),
        ('[dkim]\ndomain = "example.com"\n', "set all three"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            load_config(write(tmp_path, text), environ={})


def test_imap_mailboxes_come_from_the_environment_as_json():
    settings = load_config(None, environ={"GATEWAY_IMAP_MAILBOX": '[{"host": "h", "user": "u", "password": "p", '
                                                                  '"security": "starttls"}]'})
    assert settings.imap.mailbox[0].server_port == 143
