//! Loading one certificate: a PEM chain file and a PEM private key file, checked against each
//! other, into a rustls [`CertifiedKey`].

use std::path::{Path, PathBuf};

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// One configured certificate, as plain data (the daemon's config module maps its `"certs"`
/// entries to this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// The names this certificate serves: DNS names (case-insensitive) and one-label wildcards
    /// (`*.example.com`). The first name a spec lists wins over a later spec listing it again.
    pub hostnames: Vec<String>,
    /// PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`), unencrypted. RSA, ECDSA P-256/P-384 and Ed25519 keys are supported.
    pub privkey_path: PathBuf,
    /// PEM certificate chain: the leaf first, then the intermediates.
    pub pubchain_path: PathBuf,
}

/// Load and check the chain and key of `spec` with `provider`'s key loader.
pub(crate) fn load_certified_key(
    spec: &CertSpec,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = load_chain(&spec.pubchain_path)?;
    let key = load_key(&spec.privkey_path)?;
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::UnsupportedKey {
                path: spec.privkey_path.clone(),
                detail: e.to_string(),
            })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        // The key type cannot report its public key, so the pair cannot be checked here; a
        // mismatch would then show as failed handshakes. rustls's own `from_der` makes the
        // same choice. (All keys the ring provider loads do report it.)
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(e) => Err(TlsError::KeyMismatch {
            privkey_path: spec.privkey_path.clone(),
            pubchain_path: spec.pubchain_path.clone(),
            detail: e.to_string(),
        }),
    }
}

/// Read a whole file, naming it on failure. Reading it ourselves (rather than
/// `PemObject::pem_file_iter`) keeps "cannot read" apart from "invalid PEM".
fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn pem_error(path: &Path, e: pem::Error) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// Every `CERTIFICATE` section of `path`, in order; other sections (a key kept in the same file)
/// are skipped.
fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = read_file(path)?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// The first private key section of `path`, whichever of the three encodings it uses.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let text = read_file(path)?;
    match PrivateKeyDer::from_pem_slice(&text) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(TlsError::NoPrivateKey {
            path: path.to_owned(),
        }),
        Err(e) => Err(pem_error(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_pki::{Pki, TEST_RSA_PKCS8, pkcs8_inner_key, to_pem};
    use super::*;

    fn spec(key: &Path, chain: &Path) -> CertSpec {
        CertSpec {
            hostnames: vec!["a.test".into()],
            privkey_path: key.to_owned(),
            pubchain_path: chain.to_owned(),
        }
    }

    fn load(key: &Path, chain: &Path) -> Result<CertifiedKey, TlsError> {
        load_certified_key(&spec(key, chain), &rustls::crypto::ring::default_provider())
    }

    #[test]
    fn loads_pkcs8_ecdsa_and_ed25519() {
        let pki = Pki::new();
        let leaf = pki.issue("ec", &["a.test"]);
        let key = load(&leaf.key, &leaf.chain).expect("P-256 PKCS#8");
        assert_eq!(key.cert, [leaf.der]);
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519");
        let leaf = pki.issue_with_key("ed", &["a.test"], &ed);
        load(&leaf.key, &leaf.chain).expect("Ed25519 PKCS#8");
    }

    #[test]
    fn loads_sec1_ec_key() {
        let pki = Pki::new();
        let pair = rcgen::KeyPair::generate().expect("key");
        let leaf = pki.issue_with_key("sec1", &["a.test"], &pair);
        let sec1 = to_pem("EC PRIVATE KEY", &pkcs8_inner_key(&pair.serialize_der()));
        let key = pki.write("sec1.pem", sec1.as_bytes());
        load(&key, &leaf.chain).expect("SEC1");
    }

    #[test]
    fn loads_rsa_pkcs8_and_pkcs1() {
        let pki = Pki::new();
        let pair = rcgen::KeyPair::from_pem(TEST_RSA_PKCS8).expect("RSA key");
        let leaf = pki.issue_with_key("rsa", &["a.test"], &pair);
        load(&leaf.key, &leaf.chain).expect("RSA PKCS#8");
        let pkcs1 = to_pem("RSA PRIVATE KEY", &pkcs8_inner_key(&pair.serialize_der()));
        let key = pki.write("rsa1.pem", pkcs1.as_bytes());
        load(&key, &leaf.chain).expect("RSA PKCS#1");
    }

    #[test]
    fn key_and_chain_in_one_file() {
        let pki = Pki::new();
        let leaf = pki.issue("both", &["a.test"]);
        let mut both = std::fs::read(&leaf.key).expect("key");
        both.extend(std::fs::read(&leaf.chain).expect("chain"));
        let path = pki.write("both.pem", &both);
        load(&path, &path).expect("combined file");
    }

    #[test]
    fn mismatched_key_names_both_files() {
        let pki = Pki::new();
        let a = pki.issue("a", &["a.test"]);
        let b = pki.issue("b", &["b.test"]);
        let err = load(&b.key, &a.chain).expect_err("mismatch");
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("b.key") && msg.contains("a.crt"), "{msg}");
        assert!(msg.contains("does not match"), "{msg}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let pki = Pki::new();
        let leaf = pki.issue("ok", &["a.test"]);
        let missing = pki.dir.join("missing.pem");

        let err = load(&missing, &leaf.chain).expect_err("missing key");
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("{}: cannot read", missing.display()))
        );

        let err = load(&leaf.key, &leaf.key).expect_err("no cert in a key file");
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
        assert!(err.to_string().contains("ok.key: no certificate"), "{err}");

        let err = load(&leaf.chain, &leaf.chain).expect_err("no key in a chain file");
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err:?}");
        assert!(err.to_string().contains("ok.crt: no private key"), "{err}");

        let encrypted = pki.write(
            "enc.pem",
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        let err = load(&encrypted, &leaf.chain).expect_err("encrypted key");
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err:?}");

        let truncated = pki.write("cut.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
        let err = load(&leaf.key, &truncated).expect_err("truncated PEM");
        assert!(matches!(err, TlsError::Pem { .. }), "{err:?}");
        assert!(err.to_string().contains("cut.pem: invalid PEM"), "{err}");
    }

    #[test]
    fn garbage_key_is_unsupported() {
        let pki = Pki::new();
        let leaf = pki.issue("ok", &["a.test"]);
        let garbage = pki.write(
            "garbage.pem",
            to_pem("PRIVATE KEY", &[0x30, 3, 2, 1, 0]).as_bytes(),
        );
        let err = load(&garbage, &leaf.chain).expect_err("garbage key");
        assert!(matches!(err, TlsError::UnsupportedKey { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("garbage.pem: unsupported private key"),
            "{err}"
        );
    }
}
