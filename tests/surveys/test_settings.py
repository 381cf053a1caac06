"""[surveys] and [web] in the config: defaults that work on a laptop, and one line for each mistake."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError


def test_the_defaults_survey_a_day_after_resolving_at_most_monthly_with_links_on_this_machine() -> None:
    settings = load_config(None, environ={})
    surveys = settings.surveys
    assert (surveys.enabled, surveys.delay, surveys.business_hours, surveys.spacing) == (
        True, timedelta(hours=24), False, timedelta(days=30))
    assert (surveys.sample_rate, surveys.choices, surveys.link_lifetime) == (100, 5, timedelta(days=14))
    assert settings.web.base_url == "http://127.0.0.1:8025"


def test_the_public_url_is_what_links_use() -> None:
    settings = load_config(None, environ={"GATEWAY_WEB_PUBLIC_URL": "https://support.example.com/",
                                          "GATEWAY_SURVEYS_CHOICES": "3"})
    assert settings.web.base_url == "https://support.example.com" and settings.surveys.choices == 3


@pytest.mark.parametrize(("env", "says"), [
    ({"GATEWAY_SURVEYS_CHOICES": "4"}, "[surveys] choices: 4 is neither 5"),
    ({"GATEWAY_SURVEYS_SAMPLE_RATE": "150"}, "[surveys] sample_rate: 150 is a percentage"),
    ({"GATEWAY_SURVEYS_SAMPLE_RATE": "-5"}, "[surveys] sample_rate"),
    ({"GATEWAY_SURVEYS_EXCLUDE_CHANNELS": "beta@example.com"}, "'beta@example.com' is not one of [mail] addresses"),
    ({"GATEWAY_SURVEYS_DELAY": "a day"}, "write it like 30m, 4h or 7d"),
    ({"GATEWAY_WEB_PUBLIC_URL": "support.example.com"}, "[web] public_url: 'support.example.com' is not a URL"),
    ({"GATEWAY_WEB_PORT": "70000"}, "[web] port: 70000 is not a port"),
])
def test_a_bad_survey_or_web_key_is_one_line_saying_how_to_fix_it(env, says) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(None, environ=env)
    assert says in str(error.value) and "\n" not in str(error.value)
