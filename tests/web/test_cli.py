"""`flask links …` for operators."""

from tests.conftest import BASE_URL


def make(client, code="opslink"):
    return client.post("/api/links", json={"url": "https://example.com/", "code": code})


def test_disable_and_enable_from_the_shell(client, runner):
    make(client)
    result = runner.invoke(args=["links", "disable", "opslink"])
    assert result.exit_code == 0, result.output
    assert f"disabled {BASE_URL}/opslink" in result.output
    assert client.get("/opslink").status_code == 410
    result = runner.invoke(args=["links", "enable", "opslink"])
    assert result.exit_code == 0
    assert client.get("/opslink").status_code == 302


def test_show(client, runner):
    make(client)
    result = runner.invoke(args=["links", "show", "opslink"])
    assert result.exit_code == 0
    assert "https://example.com/" in result.output
    assert "state: active" in result.output


def test_unknown_code_fails_with_a_message(runner):
    for command in ("disable", "enable", "show"):
        result = runner.invoke(args=["links", command, "missing"])
        assert result.exit_code == 1
        assert "no link has the code 'missing'" in result.output
