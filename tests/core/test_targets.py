import pytest

from orchestrator.inventory.targets import TargetError, make_target, parse_url
from probes.model import Credentials


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
        ("ssh://127.0.0.1:99999", "from 1 to 65535"),
        ("ssh://127.0.0.1:0", "from 1 to 65535"),
        ("ssh://user@host", "no user or password in the URL"),
        ("grpc://h:1/path", "no path, query or fragment"),
        ("ssh://:22", "no host"),
        ("grpc://[::1:50051", "not a URL: Invalid IPv6 URL"),
        ("ssh://[v1.x]:22", "only an IPv6 address goes in brackets"),
        ("ssh://127.1", "neither an IP address nor a DNS name"),
        ("ssh://h:22\n", "no spaces or control characters"),
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


PIN = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


@pytest.mark.parametrize(
    "url, options, message",
    [
        ("grpc://h:1", {"pins": (PIN,)}, "--pin applies to ssh:// targets only"),
        ("grpcs://h:1", {"pins": (PIN,)}, "--pin applies to ssh:// targets only"),
        ("ssh://h:22", {"services": ("grpc.health.v1.Health",)}, "--service applies to grpc://"),
        ("ssh://h:22", {"server_name": "h.go.id"}, "--server-name applies to grpcs:// targets only"),
        ("grpc://h:1", {"ca_file": "/x"}, "--ca applies to grpcs:// targets only"),
        ("grpcs://h:1", {"credentials": Credentials("audit", password_env="PW")}, "--user applies to"),
    ],
)
def test_an_option_foreign_to_the_scheme_is_refused(url, options, message):
    with pytest.raises(TargetError, match=message):
        make_target(url, **options)
    assert make_target("ssh://h:22", pins=(PIN,)).pins == (PIN,)


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"services": ("grpc.health.v1.Health", "not a service")},
            "--service 'not a service': a fully qualified",
        ),
        ({"services": ("a" * 300,)}, "at most 255 characters"),
        ({"pins": ("SHA256:short",)}, "--pin 'SHA256:short': an OpenSSH fingerprint"),
        ({"agency": "Kota Bandung"}, "--agency: not an agency code"),
        (
            {"agency": "32.70"},
            "--agency: not an agency code",
        ),  # 70: neither a kabupaten (01-69) nor a kota (71-99)
        ({"application": " "}, "--application: letters, digits"),
        ({"server_name": "not a name"}, "--server-name: a DNS name"),
    ],
)
def test_option_values_are_checked_with_the_inventory_rules(options, message):
    url = "grpcs://127.0.0.1:443"
    with pytest.raises(TargetError) as caught:
        make_target(url, **options)
    assert str(caught.value).startswith("--") and message in str(caught.value)


def test_credentials_options_are_checked():
    from probes.model import Credentials

    with pytest.raises(TargetError, match="--user: a user name has no spaces"):
        make_target("ssh://127.0.0.1:22", credentials=Credentials(username="a b", password_env="PW"))
    with pytest.raises(TargetError, match="--password-env: names an environment variable"):
        make_target("ssh://127.0.0.1:22", credentials=Credentials(username="audit", password_env="hunter2!"))
    good = make_target(
        "ssh://127.0.0.1:22",
        agency="32.04",
        application="bdg-simpeg",
        credentials=Credentials(username="audit", password_env="SPBE_PW"),
    )
    assert (good.agency, good.application, good.credentials.username) == ("32.04", "bdg-simpeg", "audit")
