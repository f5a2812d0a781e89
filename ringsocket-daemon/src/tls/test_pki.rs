//! Test-only PKI: a throwaway CA and leaf certificates generated with `rcgen`, written to a
//! temporary directory. Shared by the unit tests and `tests/tls.rs` (included there by path),
//! so it uses only `rcgen`, `rustls`, `rustls-pki-types` and `std`.

// Each includer uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::DigitallySignedStruct;
use rustls::SignatureScheme;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// An RSA-2048 key in PKCS#8 PEM, generated once with `openssl genpkey` for these tests only
/// (ring, rcgen's backend here, cannot generate RSA keys). It protects nothing.
pub const TEST_RSA_PKCS8: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCmVEVjwxao6bCo\n\
H+a+JaUSpnAQ75Efr5OyL+tgGGrabt2fYdW4BvYLN0PmZ+X6BMjgAYgTw8Sz5xeG\n\
4gzUA92D6GuJb6KBjMqOU0i4YH4qS2eKftuYhMZywPuIdCH8YrSLx2HrJ3b5IPlq\n\
3T4efIrxm7UK/5bxRD7Gr5ColUPkYP9cem9/MyOuIBMfJKhT0y5sUGIW++E2RZGM\n\
ShtBjgyA9Kkg8dfnEzSfzD9FADNrgdhnRChyKHxh9Hq6rXRWpzfkXXJoPs6ljm0p\n\
nuwPNaTfcrWRWWu2V9yTo5H9Xu9wkVAKG31018IjHNe0Ewt8RPNI4+UXlCGnQVO5\n\
vOAiF0CnAgMBAAECgf8lCJ5qmAVzlpS+2luF+tvGS0iofK7TX0SDaCgAPW+NMyIl\n\
WqM7VlFyLdvwcTHDeU1Akxa5T918MPgMEEjK7BFmTVmkQDbuoWp4RhLq+pEc2a00\n\
KQq76tREuLNIrpLinxeUB9DFiwPydGUUZi5um0xUf1bQHBh/n7JairyqzJFRR+uO\n\
vsW/BpJnxgwzRs3IWTl497h1xRDpcaGFWGYRL572VlGrgtaew/g/ZH7+p3V9AzBv\n\
aM6LzpkWAMKQPm6Up0D5i1uWICUSZhZRBA2FEGEJYyRkIolh7LLhxtckbVlq78kU\n\
OlLvjmWddOT5EBmc4BHT4EMiU1FyaG80pf3QMxkCgYEA2ZSEwgQxvINmect7geOA\n\
U4SQ2n3QVcUfDFnndFcOjEakto7TtFikWmJjUiRrGZxkWWcrpydjJLIWXmDxqzI6\n\
3jcfnY44hDs5NEfhGDhmmhcDZoyeAnwbEXDiSeS44a36eGLWKDcNVV4Syls8MrSX\n\
lD/Ivm+vOxKM/jAZaflIuC0CgYEAw7MBq0YEdzIn2FI0XBFS0rn5DGoOPAeP3y4A\n\
NMhu79exfcRIxKarFJEdufv6XImhMKOVLCiTSrGo6GcwlAkXwqUqX34Hf2xh+0iT\n\
v3f36uRugWrJNYAGiKLded0PoqrZTFrcOY8rvNepcrdYw8fJvq+GiWreYN3LUsgk\n\
0mbTbKMCgYEA1vGwwRZxqADLcJDDn4qHEHrKuv5FnSXSSVpbnAQQ3CVBvROWMvjK\n\
zHucEN7navKj8+pHJqdzeyHvlScCN5S0sSgVtIl2bbMwDOThixLU0W7griNGScAe\n\
4Xj6I/OvbUt5QAqr9CiGpIn92CiPbKwZfpwQjYk5vArUfJw5zwY0f7UCgYEAuhZH\n\
agOkT2uD8/EHFNzsMrDgnutiKbbPGdt2GrrUsoAZqIuy3jvVxjLPX4C5arD8c3G5\n\
cUoL9STGhmdJDBsxWscPaco/eu0mpnk29QQw3Ezmv205cwQQMnEbxLtuGLH4+uAT\n\
NTBs2J8B47FwWIprzkS924Ghf96nbkoeqWtZc50CgYEAga4gecUiAd1ISrLGpLp0\n\
gECirAmgoURo2XigFbytiWN3Y0wDkua7B2OzdVm/rGiTAqq9swplt0Ep5KbJ2Pzz\n\
pM3tVdUM/U14Aymt+323pBUFORULbE1638gvbIdXgKZt6KeLECvGuc2Hj0tHx13Z\n\
exYbRtplhyMiSvD7qkjlN6I=\n\
-----END PRIVATE KEY-----\n\
";

/// A CA and a temporary directory for the files of its leaves; the directory is removed on
/// drop.
pub struct Pki {
    pub dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

/// The files of one issued leaf.
pub struct Leaf {
    pub key: PathBuf,
    pub chain: PathBuf,
    /// The leaf certificate, to recognize it on the client side.
    pub der: CertificateDer<'static>,
}

impl Pki {
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ringsocket-tls-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ringsocket test CA");
        let ca = params.self_signed(&ca_key).expect("CA cert");
        Self { dir, ca, ca_key }
    }

    /// The CA certificate, for the client's root store.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// Issue a leaf for `names` (DNS names, wildcards or IP addresses) with a new P-256 key,
    /// written as `<stem>.key` (PKCS#8) and `<stem>.crt`.
    pub fn issue(&self, stem: &str, names: &[&str]) -> Leaf {
        self.issue_with_key(stem, names, &KeyPair::generate().expect("leaf key"))
    }

    /// Issue a leaf for `names` with `key`.
    pub fn issue_with_key(&self, stem: &str, names: &[&str], key: &KeyPair) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        let cert = params
            .signed_by(key, &self.ca, &self.ca_key)
            .expect("leaf cert");
        Leaf {
            key: self.write(&format!("{stem}.key"), key.serialize_pem().as_bytes()),
            chain: self.write(&format!("{stem}.crt"), cert.pem().as_bytes()),
            der: cert.der().clone(),
        }
    }

    /// Write a file in the directory.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The inner key of a PKCS#8 `PrivateKeyInfo`: the PKCS#1 `RSAPrivateKey` of an RSA key, the
/// SEC1 `ECPrivateKey` of an EC key. Enough DER for the keys rcgen and openssl write.
pub fn pkcs8_inner_key(der: &[u8]) -> Vec<u8> {
    /// (tag, contents, rest) of the DER element at the start of `d`.
    fn element(d: &[u8]) -> (u8, &[u8], &[u8]) {
        let (tag, first) = (d[0], d[1]);
        let (len, header) = match first {
            0..=0x7f => (usize::from(first), 2),
            0x81 => (usize::from(d[2]), 3),
            0x82 => (usize::from(d[2]) << 8 | usize::from(d[3]), 4),
            _ => panic!("unexpected DER length form {first:#x}"),
        };
        (tag, &d[header..header + len], &d[header + len..])
    }
    let (tag, info, _) = element(der);
    assert_eq!(tag, 0x30, "PrivateKeyInfo is a SEQUENCE");
    let (_version, rest) = {
        let (_, v, r) = element(info);
        (v, r)
    };
    let (_algorithm, rest) = {
        let (_, a, r) = element(rest);
        (a, r)
    };
    let (tag, key, _) = element(rest);
    assert_eq!(tag, 0x04, "privateKey is an OCTET STRING");
    key.to_vec()
}

/// `der` as a PEM section with `label`.
pub fn to_pem(label: &str, der: &[u8]) -> String {
    // The `pem` crate is rcgen's dependency, not ours: encode by hand (base64, 64 columns).
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `path` as a string for messages.
pub fn show(path: &Path) -> String {
    path.display().to_string()
}

/// A client-side verifier that accepts any certificate but still checks the handshake
/// signatures: for tests that inspect which certificate the server presented.
#[derive(Debug)]
pub struct AcceptAny(pub WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
