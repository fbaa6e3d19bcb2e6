"""Key material for a deployed federation: a private CA, the SuperLink's TLS certificate, hospital node keys.

    python -m server.certs ca      --out keys/                       # once, on the coordinator
    python -m server.certs server  --out keys/ --host link.example.org --host 10.0.0.5
    python -m server.certs node    --out keys/ --name hospital-a     # by (or for) each hospital

``ca`` writes ``ca.crt``/``ca.key``; ``server`` signs ``server.crt``/``server.key`` with that CA, valid for
the given hosts (and loopback); ``node`` writes ``<name>`` (OpenSSH private key, stays at the hospital)
and ``<name>.pub`` (the public key the coordinator registers with ``flwr supernode register``). Flower 1.41
authenticates SuperNodes with NIST elliptic-curve keys in OpenSSH format; we use P-384.

The ``cryptography`` package does the cryptography; this module only picks safe defaults and file names.
Private keys are written atomically with mode 0600 (whatever mode an earlier file had), no file is
replaced without ``--force`` (a silently regenerated ``ca.key`` orphans every certificate it signed), and
a node name is a plain file name, so nothing is written outside ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.config import ConfigError, check_path_name
from common.private_files import write_private

CURVE = ec.SECP384R1()
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class CertificateAuthority:
    """The federation's private CA: it signs the SuperLink certificate that hospitals verify."""

    cert_file: Path
    key_file: Path

    def load(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        return cert, key


def _write_pair(public: tuple[Path, bytes], private: tuple[Path, bytes], force: bool) -> None:
    """Write a public file and its private key (0600); ``FileExistsError`` if either exists, unless ``force``."""
    if not force and (existing := [str(p) for p, _ in (public, private) if p.exists() or p.is_symlink()]):
        raise FileExistsError(f"{' and '.join(existing)} already exist(s); pass --force to replace "
                              "(certificates and keys made from the old one stop working)")
    public[0].parent.mkdir(parents=True, exist_ok=True)
    write_private(private[0], private[1], replace=force)
    write_private(public[0], public[1], replace=force)
    public[0].chmod(0o644)  # public: hospitals and the coordinator read it


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def create_ca(out_dir: Path, *, common_name: str = "medfed federation CA", days: int = 3650,
              force: bool = False) -> CertificateAuthority:
    """Write ``ca.crt`` and ``ca.key`` into ``out_dir``."""
    key = ec.generate_private_key(CURVE)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before, not_after = _validity(days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA384()))
    ca = CertificateAuthority(out_dir / "ca.crt", out_dir / "ca.key")
    _write_pair((ca.cert_file, cert.public_bytes(serialization.Encoding.PEM)), (ca.key_file, _pem_key(key)), force)
    return ca


def _subject_alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, *LOOPBACK]):  # keep order, drop repeats
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def create_server_certificate(ca: CertificateAuthority, out_dir: Path, hosts: list[str], *,
                              days: int = 825, force: bool = False) -> tuple[Path, Path]:
    """Write ``server.crt``/``server.key`` signed by ``ca``, valid for ``hosts`` and loopback."""
    ca_cert, ca_key = ca.load()
    key = ec.generate_private_key(CURVE)
    not_before, not_after = _validity(days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else LOOPBACK[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(_subject_alt_names(hosts)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA384()))
    cert_file, key_file = out_dir / "server.crt", out_dir / "server.key"
    _write_pair((cert_file, cert.public_bytes(serialization.Encoding.PEM)), (key_file, _pem_key(key)), force)
    return cert_file, key_file


def create_node_keys(out_dir: Path, name: str, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``<name>`` (OpenSSH EC private key) and ``<name>.pub`` (its public key) for one SuperNode."""
    check_path_name("node name", name)
    key = ec.generate_private_key(CURVE)
    private_file, public_file = out_dir / name, out_dir / f"{name}.pub"
    _write_pair((public_file, key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                            serialization.PublicFormat.OpenSSH) + f" {name}\n".encode()),
                (private_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                 serialization.NoEncryption())), force)
    return private_file, public_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.certs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ca = commands.add_parser("ca", help="create the federation's CA (ca.crt, ca.key)")
    ca.add_argument("--days", type=int, default=3650)
    server = commands.add_parser("server", help="create the SuperLink's TLS certificate signed by the CA")
    server.add_argument("--host", action="append", default=[],
                        help="DNS name or IP address hospitals use to reach the SuperLink (repeatable)")
    server.add_argument("--ca-dir", type=Path, help="folder holding ca.crt and ca.key (default: --out)")
    server.add_argument("--days", type=int, default=825)
    node = commands.add_parser("node", help="create one hospital's SuperNode key pair")
    node.add_argument("--name", required=True, help="file name of the key pair, e.g. the hospital id")
    for sub in (ca, server, node):
        sub.add_argument("--out", type=Path, required=True, help="folder to write into")
        sub.add_argument("--force", action="store_true", help="replace files that already exist")
    args = parser.parse_args(argv)

    try:
        if args.command == "ca":
            written = create_ca(args.out, days=args.days, force=args.force)
            print(f"wrote {written.cert_file} and {written.key_file} (keep the key offline)")
        elif args.command == "server":
            ca_dir = args.ca_dir or args.out
            cert_file, key_file = create_server_certificate(CertificateAuthority(ca_dir / "ca.crt", ca_dir / "ca.key"),
                                                            args.out, args.host, days=args.days, force=args.force)
            print(f"wrote {cert_file} and {key_file} for {', '.join([*args.host, *LOOPBACK])}")
        else:
            private_file, public_file = create_node_keys(args.out, args.name, force=args.force)
            print(f"wrote {private_file} (stays at the hospital) and {public_file} (send to the coordinator)")
    except (FileExistsError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
