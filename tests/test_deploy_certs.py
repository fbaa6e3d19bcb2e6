"""Key material from ``server.certs``: a CA-signed server certificate for the right hosts, Flower-ready node keys."""

from __future__ import annotations

import ipaddress
import stat

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
