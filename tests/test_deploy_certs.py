"""Key material from ``server.certs``: a CA-signed server certificate for the right hosts, Flower-ready node keys."""

from __future__ import annotations

import ipaddress
import os
import stat

import pytest
from cryptography import x509
from flwr.cli.supernode.register import try_load_public_key

from server.certs import create_ca, create_node_keys, create_server_certificate, main


def test_server_certificate_is_signed_by_the_ca_for_the_given_hosts(tmp_path):
    ca = create_ca(tmp_path)
    cert_file, key_file = create_server_certificate(ca, tmp_path, ["link.example.org", "10.0.0.5"])
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ca_cert, _ = ca.load()

    cert.verify_directly_issued_by(ca_cert)  # raises if the signature or issuer is wrong
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"link.example.org", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    assert {ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("127.0.0.1")} <= set(
        names.get_values_for_type(x509.IPAddress))
    for private in (ca.key_file, key_file):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_node_public_key_is_accepted_by_flower_registration(tmp_path):
    private_file, public_file = create_node_keys(tmp_path, "hospital-a")
    assert try_load_public_key(public_file)  # Flower's own loader: NIST EC key in OpenSSH format
    assert private_file.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600


def test_cli_writes_the_files_it_names(tmp_path, capsys):
    main(["ca", "--out", str(tmp_path)])
    main(["server", "--out", str(tmp_path), "--host", "link.example.org"])
    main(["node", "--out", str(tmp_path), "--name", "hospital-b"])
    assert {p.name for p in tmp_path.iterdir()} == {"ca.crt", "ca.key", "server.crt", "server.key",
                                                    "hospital-b", "hospital-b.pub"}
    assert "hospital-b.pub" in capsys.readouterr().out


def test_a_regenerated_key_is_0600_whatever_the_old_file_was_and_needs_force(tmp_path, capsys):
    create_node_keys(tmp_path, "hospital-a")
    (tmp_path / "hospital-a").chmod(0o644)  # left readable by hand, or by an earlier tool
    old = (tmp_path / "hospital-a").read_bytes()
    with pytest.raises(SystemExit) as refused:
        main(["node", "--out", str(tmp_path), "--name", "hospital-a"])
    assert refused.value.code == 2 and "--force" in capsys.readouterr().err
    assert (tmp_path / "hospital-a").read_bytes() == old
    main(["node", "--out", str(tmp_path), "--name", "hospital-a", "--force"])
    assert (tmp_path / "hospital-a").read_bytes() != old
    assert stat.S_IMODE((tmp_path / "hospital-a").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "hospital-a.pub").stat().st_mode) == 0o644


def test_certs_ca_never_silently_replaces_the_ca_key(tmp_path, capsys):
    main(["ca", "--out", str(tmp_path)])
    main(["server", "--out", str(tmp_path)])
    key, cert = (tmp_path / "ca.key").read_bytes(), (tmp_path / "ca.crt").read_bytes()
    for argv in (["ca", "--out", str(tmp_path)], ["server", "--out", str(tmp_path)]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "already exist" in capsys.readouterr().err
    assert (tmp_path / "ca.key").read_bytes() == key and (tmp_path / "ca.crt").read_bytes() == cert
    main(["ca", "--out", str(tmp_path), "--force"])
    assert (tmp_path / "ca.key").read_bytes() != key
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.parametrize("name", ["../../x", "/etc/x", "a/b", "..", ".hidden", ""])
def test_a_node_name_is_a_plain_file_name(tmp_path, capsys, name):
    out = tmp_path / "keys"
    with pytest.raises(SystemExit) as refused:
        main(["node", "--out", str(out), "--name", name])
    assert refused.value.code == 2 and "node name" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not out.exists()
