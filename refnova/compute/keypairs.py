"""Key pairs: Nova's ``KeypairAPI`` (list, show, create with a generated key, import,
delete) over the database, with its name rules, its quota and its fingerprints."""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import string
from collections.abc import Sequence

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from refnova import exception
from refnova.db import api as db_api
from refnova.db import models
from refnova.db import resources as db_resources

# Nova's KeypairAPI._validate_new_key_pair: the characters a key pair name may use.
SAFE_NAME_CHARACTERS = frozenset("_- " + string.digits + string.ascii_letters)
MAX_NAME_LENGTH = 255
GENERATED_KEY_BITS = 2048
GENERATED_KEY_COMMENT = "Generated-by-Nova"


class KeypairAPI:
    """The key pairs of a user; ``quota`` is the key_pairs limit (-1: unlimited)."""

    def __init__(self, db: db_api.Database, quota: int) -> None:
        self.db = db
        self.quota = quota

    def get_key_pairs(self, user_id: str) -> Sequence[models.KeyPair]:
        with self.db.transaction() as session:
            return db_resources.key_pair_get_all_by_user(session, user_id)

    def get_key_pair(self, user_id: str, name: str) -> models.KeyPair:
        with self.db.transaction() as session:
            return db_api.key_pair_get(session, user_id, name)

    def import_key_pair(
        self,
        user_id: str,
        name: str,
        public_key: str,
        key_type: str = "ssh",
        check_name: bool = True,
    ) -> models.KeyPair:
        self._validate_new_key_pair(user_id, name, check_name)
        fingerprint = FINGERPRINTS[key_type](public_key)
        return self._store(user_id, name, public_key, fingerprint, key_type)

    def create_key_pair(
        self, user_id: str, name: str, check_name: bool = True, key_type: str = "ssh"
    ) -> tuple[models.KeyPair, str]:
        """A new key pair: the stored public half, and the private key (never stored)."""
        self._validate_new_key_pair(user_id, name, check_name)
        private_key, public_key, fingerprint = GENERATORS[key_type](user_id)
        keypair = self._store(user_id, name, public_key, fingerprint, key_type)
        return keypair, private_key

    def delete_key_pair(self, user_id: str, name: str) -> None:
        with self.db.transaction() as session:
            db_resources.key_pair_destroy(session, user_id, name)

    def _validate_new_key_pair(self, user_id: str, name: str, check_name: bool) -> None:
        """Nova's order: the name's characters, its length (Icehouse's API checked them;
        today's schema does), then the quota."""
        if check_name:
            self._check_name(name)
        with self.db.transaction() as session:
            count = db_resources.key_pair_count_by_user(session, user_id)
        if 0 <= self.quota < count + 1:
            raise exception.KeypairLimitExceeded()

    def _store(
        self, user_id: str, name: str, public_key: str, fingerprint: str, key_type: str
    ) -> models.KeyPair:
        with self.db.transaction() as session:
            values = {
                "user_id": user_id,
                "name": name,
                "public_key": public_key,
                "fingerprint": fingerprint,
                "type": key_type,
            }
            return db_resources.key_pair_create(session, values)

    @staticmethod
    def _check_name(name: str) -> None:
        if any(character not in SAFE_NAME_CHARACTERS for character in name):
            raise exception.InvalidKeypair(reason="Keypair name contains unsafe characters")
        if not 0 < len(name) <= MAX_NAME_LENGTH:
            raise exception.InvalidKeypair(
                reason="Keypair name must be between 1 and 255 characters long"
            )


def generate_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key, as ``ssh-keygen -l -E md5`` shows it;
    InvalidKeypair if the text is no public key."""
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (ValueError, IndexError, binascii.Error, UnicodeEncodeError, UnsupportedAlgorithm):
        raise exception.InvalidKeypair(reason="failed to generate fingerprint")
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate_x509_fingerprint(pem: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate (Nova's ``generate_x509_fingerprint``)."""
    from cryptography import x509  # x509 key pairs only: about 20 ms of a process's start

    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError) as error:
        raise exception.InvalidKeypair(
            reason="failed to generate X509 fingerprint. Error message: %s" % error
        )
    digest = certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 (Nova's choice)
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


FINGERPRINTS = {"ssh": generate_fingerprint, "x509": generate_x509_fingerprint}
UPN_OID = "1.3.6.1.4.1.311.20.2.3"  # Microsoft's user principal name
CERTIFICATE_DAYS = 3650


def generate_ssh_key_pair(user_id: str) -> tuple[str, str, str]:
    """(private key, public key, fingerprint) of a new RSA key (Nova's ``generate_key_pair``)."""
    private_key, public_key = generate_key_pair()
    return private_key, public_key, generate_fingerprint(public_key)


def generate_winrm_x509_cert(user_id: str) -> tuple[str, str, str]:
    """Nova's ``generate_winrm_x509_cert``: a self-signed client certificate for the user
    (CN, and the UPN ``<user>@localhost``, for WinRM), ten years long; the private key is the
    base64 of a PKCS#12 without a password."""
    from cryptography import x509  # x509 key pairs only: about 20 ms of a process's start
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, user_id)])
    upn = ("%s@localhost" % user_id).encode("utf-8")
    upn_name = x509.OtherName(x509.ObjectIdentifier(UPN_OID), _der_utf8(upn))
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName([upn_name]), False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, certificate, None, serialization.NoEncryption()
    )
    return base64.b64encode(bundle).decode("ascii"), pem, generate_x509_fingerprint(pem)


def _der_utf8(text: bytes) -> bytes:
    """A DER UTF8String (short form: a user name fits)."""
    return bytes([0x0C, len(text)]) + text


GENERATORS = {"ssh": generate_ssh_key_pair, "x509": generate_winrm_x509_cert}


def generate_key_pair() -> tuple[str, str]:
    """(private key in PEM, public key in OpenSSH form) of a new RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, "%s %s" % (public.decode("ascii"), GENERATED_KEY_COMMENT)
