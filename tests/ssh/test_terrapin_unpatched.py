"""SSH-KEX-003 against a real server without strict key exchange (paramiko's server side)."""

from __future__ import annotations

import pytest

from tests.ssh.paramiko_server import unpatched_server
from tests.ssh.support import disagreements, own_selection, probe, result

ETM_AND_PLAIN = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-256")


@pytest.mark.parametrize(
    "ciphers, status, susceptible",
    [
        # CBC next to EtM: exploitable (probabilistically), both halves of the pair are named.
        (("aes128-ctr", "aes128-cbc"), "fail", ["aes128-cbc", "hmac-sha2-256-etm@openssh.com"]),
        # EtM next to CTR/GCM only: the deleted packet desynchronises CTR; not exploitable.
        (("aes128-ctr", "aes256-gcm@openssh.com"), "pass", []),
    ],
    ids=["cbc-etm", "ctr-etm"],
)
def test_etm_is_terrapin_only_next_to_cbc(ciphers, status, susceptible):
    selection = {"SSH-KEX-003": own_selection()["SSH-KEX-003"]}
    with unpatched_server(ciphers, ETM_AND_PLAIN) as port:
        report = probe(port, selection=selection)

    terrapin = result(report, "SSH-KEX-003")
    assert terrapin.status.value == status, terrapin.reason
    assert terrapin.evidence["observed"] == {"strict_kex": False, "susceptible": susceptible}
    assert [f["verdict"] for f in terrapin.evidence["findings"]] == ["fail"] * len(susceptible)
    assert disagreements(report) == []
