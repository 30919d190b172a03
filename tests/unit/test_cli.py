"""The refnova command line itself."""

import pytest

from refnova import cli


def test_urls_in_log_lines_hide_passwords():
    assert (
        cli._safe_url("amqp://guest:s3cret@127.0.0.1:5672/v") == "amqp://guest:**@127.0.0.1:5672/v"
    )
    assert "pw" not in cli._safe_url("postgresql+psycopg://user:pw@127.0.0.1/test")
    assert cli._safe_url("sqlite:///refnova.db") == "sqlite:///refnova.db"


def test_keystone_auth_without_a_keystone_url_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("REFNOVA_KEYSTONE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["serve", "--auth", "keystone"])
    assert exit_info.value.code == 2
    assert "--auth keystone needs --keystone-url" in capsys.readouterr().err


def test_serve_builds_the_name_regexes_before_its_first_request(monkeypatch, tmp_path):
    """Nova builds its printable-name regex at import; a served API builds it before it
    listens, so that the first create does not pay a few tenths of a second for it."""
    from refnova.api import validation

    validation.printable_range.cache_clear()
    validation.valid_name_regex.cache_clear()
    seen = []

    def serving(settings, *args, **kwargs):
        seen.append(validation.valid_name_regex.cache_info().currsize)
        return 0

    monkeypatch.setattr(cli, "_serve_process", serving)
    args = cli.build_parser().parse_args(["serve", "--db", "sqlite:///%s/r.db" % tmp_path])
    assert cli.serve(args) == 0
    assert seen == [1] and validation.printable_range.cache_info().currsize == 1


def test_the_collector_pauses_for_the_imports_and_freezes_only_a_command_s_process(monkeypatch):
    """main() called with its arguments (a test, a tool) leaves the collector as it found
    it; the command line's own process (argv None) freezes what the imports made."""
    import gc

    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    seen_during = []
    build_parser = cli.build_parser

    def building():
        seen_during.append(gc.isenabled())
        return build_parser()

    monkeypatch.setattr(cli, "build_parser", building)
    assert cli.main(["conformance", "-k", "no-fixture-is-named-so"]) == 2
    assert seen_during == [False] and gc.isenabled() and calls == []
    monkeypatch.setattr("sys.argv", ["refnova", "conformance", "-k", "no-fixture-is-named-so"])
    assert cli.main() == 2
    assert seen_during == [False, False] and gc.isenabled() and calls == ["freeze"]
