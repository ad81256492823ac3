import pytest

from orchestrator.targets import TargetError, make_target, parse_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("ssh://127.0.0.1", ("ssh", "127.0.0.1", 22)),
        ("ssh://host.go.id:2222", ("ssh", "host.go.id", 2222)),
        ("grpc://127.0.0.1:50051", ("grpc", "127.0.0.1", 50051)),
        ("grpcs://[::1]:443", ("grpcs", "::1", 443)),
    ],
)
def test_parse(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://x:1", "scheme"),
        ("grpc://127.0.0.1", "needs a port"),
        ("ssh://127.0.0.1:99999", "out of range"),
        ("ssh://user@host", "only SCHEME"),
        ("grpc://h:1/path", "only SCHEME"),
        ("ssh://:22", "missing host"),
    ],
)
def test_rejects(url, message):
    with pytest.raises(TargetError, match=message):
        parse_url(url)


def test_tls_options_only_for_grpcs():
    with pytest.raises(TargetError):
        make_target("grpc://h:1", ca_file="/x")
    assert make_target("grpcs://h:1", server_name="n").server_name == "n"
    assert make_target("grpcs://h:1").url == "grpcs://h:1"
