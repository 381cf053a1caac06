from gateway.agents.saved_replies import load_saved_replies, render_saved_reply


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
