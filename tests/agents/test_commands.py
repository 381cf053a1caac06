from gateway.agents.commands import Command, parse_commands, without_command_lines


def test_commands_at_the_top_are_read_and_cut_from_the_body() -> None:
    parsed = parse_commands("#tag Printers\n#assign me\n\n#pending\n\nHi Anne,\nplease try again.\n")
    assert parsed.commands == (Command("tag", "printers"), Command("assign", "me"), Command("pending"))
    assert parsed.errors == ()
    assert parsed.body == "Hi Anne,\nplease try again."


def test_a_hash_further_down_is_text_not_a_command() -> None:
    parsed = parse_commands("Hi Anne,\n#close is what I would do.\n")
    assert parsed.commands == ()
    assert parsed.body.startswith("Hi Anne")


def test_a_numbered_hash_is_text() -> None:
    assert parse_commands("#1 thing to check: the cable").commands == ()


def test_a_typo_is_reported_with_a_suggestion() -> None:
    parsed = parse_commands("#clsoe\nThanks!")
    assert parsed.errors == ("#clsoe is not a command; did you mean #close?",)


def test_bad_arguments_are_reported() -> None:
    parsed = parse_commands("#priority soon\n#tag\n#close now")
    assert len(parsed.errors) == 3
    assert "low, normal, high, urgent" in parsed.errors[0]
    assert "#tag needs an argument" in parsed.errors[1]
    assert "#close takes no argument" in parsed.errors[2]


def test_commands_only_leave_an_empty_body() -> None:
    assert parse_commands("#close\n").body == ""


def test_capitalised_commands_are_cut_from_the_html_body_too() -> None:
    parsed = parse_commands("#Pending\n#tag Printers\n\nHi")
    cut = without_command_lines("<div>#Pending<br>#tag Printers<br>Hi</div>", parsed.lines())
    assert "#" not in cut and "Hi" in cut


def test_command_lines_are_cut_from_the_html_body_too() -> None:
    html = '<div dir="ltr">#tag printers<br>#pending<br><br>Hi Anne, try again.<br></div>'
    cut = without_command_lines(html, frozenset({"#tag printers", "#pending"}))
    assert "#tag" not in cut and "#pending" not in cut
    assert "Hi Anne, try again." in cut
