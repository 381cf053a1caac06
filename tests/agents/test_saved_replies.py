from gateway.agents.saved_replies import load_saved_replies, render_saved_reply, saved_reply_problems


def test_a_saved_reply_that_is_not_utf8_is_skipped_not_fatal(tmp_path) -> None:
    (tmp_path / "good.txt").write_text("Hi {{ customer_name }}")
    (tmp_path / "bad.txt").write_bytes("Grüße".encode("latin-1"))
    assert load_saved_replies(str(tmp_path)) == {"good": "Hi {{ customer_name }}"}


def test_a_missing_folder_means_no_saved_replies(tmp_path) -> None:
    assert load_saved_replies(str(tmp_path / "nope")) == {}


def test_an_unknown_variable_is_an_error_not_an_empty_hole() -> None:
    try:
        render_saved_reply("Hi {{ nmae }}", {"name": "Anne"})
    except ValueError as exc:
        assert "nmae" in str(exc)
    else:
        raise AssertionError("an unknown variable must not render as empty")


def test_a_greeting_closes_up_for_a_customer_without_a_name() -> None:
    variables = {"customer_name": "", "agent_name": "Bob", "ref": "K7Q2M9XA", "subject": "Printer"}
    assert render_saved_reply("Hi {{ customer_name }},\n\nTry this.", variables) == "Hi,\n\nTry this."
    assert render_saved_reply("Guten Tag {{ customer_name }}!\nBitte.", variables) == "Guten Tag!\nBitte."
    assert render_saved_reply('Hi {{ customer_name or "there" }},', variables) == "Hi there,"
    # Only the greeting: a gap the writer meant elsewhere stays as written.
    assert render_saved_reply("Hi {{ customer_name }},\nA , B", variables) == "Hi,\nA , B"


def test_a_first_line_that_does_not_name_the_customer_stays_as_written() -> None:
    variables = {"customer_name": "", "agent_name": "Bob", "ref": "K7Q2M9XA", "subject": "Printer"}
    assert render_saved_reply("Merci !\nBob", variables) == "Merci !\nBob"


def test_a_greeting_keeps_the_name_when_there_is_one() -> None:
    variables = {"customer_name": "Anne", "agent_name": "Bob", "ref": "K7Q2M9XA", "subject": "Printer"}
    assert render_saved_reply("Hi {{ customer_name }},", variables) == "Hi Anne,"


def test_doctor_names_what_stops_a_saved_reply() -> None:
    assert saved_reply_problems("Hi {{ customer_name }}, your {{ ref }} about {{ subject }}. {{ agent_name }}") == []
    assert saved_reply_problems("Hi {{ nmae }},") == [
        "unknown variable nmae (known: customer_name, agent_name, ref, subject)"]
    assert saved_reply_problems("Hi {{ customer_name }")[0].startswith("line 1: ")
