"""The DNS-01 test peer (dns_peer.py) on its own, without causeway: BIND's named accepts RFC
2136 UPDATEs from nsupdate signed with its TSIG key and serves the TXT records they add, refuses
updates signed with another secret, answers the SOA queries that find the zone of a name, and
resolves every name of its zones to 127.0.0.1 through the wildcard (what pebble asks it); and
pebble validates DNS-01 and HTTP-01 orders through it (the ACME client of test_acme_peer.py)."""
import hashlib
import socket
import subprocess

import pytest

import acme_peer
import dns_peer
from acme_peer import needs_pebble
from dns_peer import DIG, needs_named
from harness import wait_until
from test_acme_peer import ChallengeHttpServer, MiniAcme, b64, needs_cryptography, verify_chain

pytestmark = needs_named

start_named = dns_peer.start_named  # the peers' fixtures
start_pebble = acme_peer.start_pebble

NAME = "_acme-challenge.a.example.test"


def test_signed_update_adds_and_deletes_a_txt_record(start_named):
    dns = start_named()
    assert dns.address == f"127.0.0.1:{dns.port}"
    assert dns.txt(NAME) == []

    added = dns.nsupdate([f'update add {NAME}. 60 TXT "digest-one"'])
    assert added.returncode == 0, added.stdout + added.stderr
    dns.wait_txt(NAME, "digest-one")
    assert dns.txt(NAME) == ["digest-one"]
    assert dns.txt(NAME, tcp=True) == ["digest-one"]

    # A second value beside the first (a wildcard and its base name share the name).
    added = dns.nsupdate([f'update add {NAME}. 60 TXT "digest-two"'])
    assert added.returncode == 0, added.stdout + added.stderr
    dns.wait_txt(NAME, "digest-two")
    assert sorted(dns.txt(NAME)) == ["digest-one", "digest-two"]

    deleted = dns.nsupdate([f'update delete {NAME}. TXT "digest-one"'])
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    dns.wait_no_txt(NAME, "digest-one")
    assert dns.txt(NAME) == ["digest-two"]

    deleted = dns.nsupdate([f"update delete {NAME}. TXT"], tcp=True)  # the whole RRset, over TCP
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    dns.wait_no_txt(NAME)
    assert dns.txt(NAME) == []
    assert "updating zone 'example.test/IN'" in dns.output()


def test_update_with_a_wrong_secret_is_refused(start_named):
    dns = start_named()
    other = start_named()  # another instance runs beside it, with its own key
    assert other.port != dns.port and other.secret != dns.secret

    refused = dns.nsupdate([f'update add {NAME}. 60 TXT "forged"'], secret=other.secret)
    assert refused.returncode != 0
    assert "BADSIG" in refused.stdout + refused.stderr
    refused = dns.nsupdate([f'update add {NAME}. 60 TXT "forged"'], key_name="another-key")
    assert refused.returncode != 0
    assert dns.txt(NAME) == []

    # The right key still works, and the other instance saw none of it.
    added = dns.nsupdate([f'update add {NAME}. 60 TXT "genuine"'])
    assert added.returncode == 0, added.stdout + added.stderr
    dns.wait_txt(NAME, "genuine")
    assert other.txt(NAME) == []


def test_other_algorithms_and_zones(start_named):
    dns = start_named(zones=("example.test", "other.test."), key_name="k2", algorithm="hmac-sha512")
    for zone in ("example.test", "other.test"):
        name = f"_acme-challenge.www.{zone}"
        added = dns.nsupdate([f'update add {name}. 60 TXT "v-{zone}"'])
        assert added.returncode == 0, added.stdout + added.stderr
        dns.wait_txt(name, f"v-{zone}")
    refused = dns.nsupdate([f'update add {NAME}. 60 TXT "x"'], algorithm="hmac-sha256")
    assert refused.returncode != 0
    with pytest.raises(ValueError):
        dns_peer.Named(algorithm="hmac-sha3")


def test_soa_query_finds_the_zone_and_the_wildcard_resolves(start_named):
    dns = start_named()
    # An RFC 2136 client finds the zone by an SOA query for the name: the zone's SOA comes
    # back in the authority section (NOERROR, no answer), or in the answer at the apex.
    assert dns.zone_of(NAME) == "example.test"
    assert dns.zone_of("deep.er._acme-challenge.a.example.test") == "example.test"
    assert dns.zone_of("example.test") == "example.test"
    assert dns.zone_of("elsewhere.invalid") is None  # not ours: REFUSED, no SOA
    full = subprocess.run([DIG, "-p", str(dns.port), "@127.0.0.1", "SOA", NAME + "."],
                          capture_output=True, text=True, timeout=10).stdout
    assert "status: NOERROR" in full and "ANSWER: 0, AUTHORITY: 1" in full, full
    assert "flags: qr aa" in full, full

    # Every name of the zone resolves to 127.0.0.1 (pebble's HTTP-01 / TLS-ALPN-01 lookups),
    # with no AAAA; recursion is off.
    assert dns.query("a.example.test") == ["127.0.0.1"]
    assert dns.query("x.y.example.test", tcp=True) == ["127.0.0.1"]
    assert dns.query("example.test") == ["127.0.0.1"]
    assert dns.query("a.example.test", "AAAA") == []
    assert dns.query("example.com") == []

    # A wildcard does not answer for an existing name: while the TXT record exists,
    # a.example.test is an empty non-terminal without A (records= gives it one).
    added = dns.nsupdate([f'update add {NAME}. 60 TXT "v"'])
    assert added.returncode == 0, added.stdout + added.stderr
    dns.wait_txt(NAME, "v")
    assert dns.query("a.example.test") == []
    assert dns.query("b.example.test") == ["127.0.0.1"]
    assert dns.zone_of(NAME) == "example.test"

    explicit = start_named(records=("a A 127.0.0.1",))
    added = explicit.nsupdate([f'update add {NAME}. 60 TXT "v"'])
    assert added.returncode == 0, added.stdout + added.stderr
    explicit.wait_txt(NAME, "v")
    assert explicit.query("a.example.test") == ["127.0.0.1"]


@needs_pebble
@needs_cryptography
def test_pebble_validates_through_named(start_named, start_pebble, tmp_path):
    """DNS-01 for a name and its wildcard (two TXT values at one name, added by signed
    UPDATEs, deleted after), then HTTP-01 for another name that pebble resolves through the
    wildcard A record."""
    dns = start_named()
    web = ChallengeHttpServer()
    try:
        pebble = start_pebble(web.port, dns_port=dns.port)
        client = MiniAcme(pebble)
        client.new_account()
        added = []

        def present_dns(name, challenge, key_authorization):
            digest = b64(hashlib.sha256(key_authorization.encode()).digest())
            done = dns.nsupdate([f'update add _acme-challenge.{name}. 60 TXT "{digest}"'])
            assert done.returncode == 0, done.stdout + done.stderr
            dns.wait_txt(f"_acme-challenge.{name}", digest)
            added.append(digest)

        domains = ["a.example.test", "*.a.example.test"]
        chain, _ = client.issue(domains, "dns-01", present_dns)
        verify_chain(pebble, chain, domains, tmp_path)
        assert sorted(dns.txt(NAME)) == sorted(added) and len(added) == 2
        done = dns.nsupdate([f"update delete {NAME}. TXT"])
        assert done.returncode == 0, done.stdout + done.stderr
        dns.wait_no_txt(NAME)

        def present_http(name, challenge, key_authorization):
            web.tokens[challenge["token"]] = key_authorization

        chain, _ = client.issue(["web.example.test"], "http-01", present_http)
        verify_chain(pebble, chain, ["web.example.test"], tmp_path)
        wait_until(lambda: web.requests)
        assert web.requests[0][0] == f"web.example.test:{web.port}"
    finally:
        web.close()


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM], ids=["udp", "tcp"])
def test_a_taken_port_is_picked_again(start_named, monkeypatch, kind):
    """When another socket took the port in between (named exits without UDP, and goes on
    without TCP), the peer starts again on another port."""
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        ports = [taken.getsockname()[1]]
        picked = []
        real = dns_peer.free_dns_port

        def pick():
            picked.append(ports.pop() if ports else real())
            return picked[-1]

        monkeypatch.setattr(dns_peer, "free_dns_port", pick)
        dns = start_named()
        assert len(picked) == 2 and dns.port == picked[1] != taken.getsockname()[1]
        assert dns.zone_of(NAME, tcp=True) == "example.test"


def test_txt_strings_are_unquoted():
    assert dns_peer._txt_strings('"abc"') == "abc"
    assert dns_peer._txt_strings('"ab" "cd"') == "abcd"
    assert dns_peer._txt_strings(r'"a\"b\\c\032d"') == 'a"b\\c d'
