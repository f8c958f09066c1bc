//! P-521 through rcgen: rcgen built without a crypto backend has no P-521 signature
//! algorithm, so P-521 keys are handed to rcgen under P-384's algorithm as a stand-in and
//! the two OIDs that differ are rewritten here, in place, before anything is hashed:
//! secp384r1 -> secp521r1 (5 content bytes each) in the SubjectPublicKeyInfo, and
//! ecdsa-with-SHA384 -> ecdsa-with-SHA512 (8 bytes each) in the signature algorithms.
//! Equal lengths mean no length byte changes. The rewrite walks the DER structure (never a
//! byte search) and refuses anything that is not exactly what rcgen writes.
//!
//! For P-256 and P-384 nothing here runs.

use std::borrow::Cow;
use std::ops::Range;

use super::Curve;

const SIG_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const SIG_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
const SIG_SHA512: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04];
const CURVE_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const CURVE_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const CURVE_P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];

fn sig_oid(curve: Curve) -> &'static [u8] {
    match curve {
        Curve::P256 => SIG_SHA256,
        Curve::P384 => SIG_SHA384,
        Curve::P521 => SIG_SHA512,
    }
}

fn curve_oid(curve: Curve) -> &'static [u8] {
    match curve {
        Curve::P256 => CURVE_P256,
        Curve::P384 => CURVE_P384,
        Curve::P521 => CURVE_P521,
    }
}

/// The curve whose rcgen algorithm stands in for `curve`.
pub(crate) fn rcgen_stand_in(curve: Curve) -> Curve {
    match curve {
        Curve::P521 => Curve::P384,
        other => other,
    }
}

/// Which OIDs of an rcgen-built object must be corrected, and to what.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fixup {
    issuer: Curve,
    /// `None` for a CRL (no SubjectPublicKeyInfo).
    subject: Option<Curve>,
}

impl Fixup {
    pub fn cert(issuer: Curve, subject: Curve) -> Fixup {
        Fixup {
            issuer,
            subject: Some(subject),
        }
    }

    pub fn crl(issuer: Curve) -> Fixup {
        Fixup {
            issuer,
            subject: None,
        }
    }

    fn needed(&self) -> bool {
        self.issuer == Curve::P521 || self.subject == Some(Curve::P521)
    }

    /// The TBS as it must be signed.
    pub fn tbs<'m>(&self, tbs: &'m [u8]) -> Result<Cow<'m, [u8]>, String> {
        if !self.needed() {
            return Ok(Cow::Borrowed(tbs));
        }
        let mut buf = tbs.to_vec();
        let whole = read_tlv(&buf, 0, 0x30)?;
        if whole.end() != buf.len() {
            return Err("trailing bytes after the TBS".into());
        }
        self.patch_tbs(&mut buf, &whole)?;
        Ok(Cow::Owned(buf))
    }

    /// The signed certificate or CRL with its TBS and outer algorithm corrected, matching
    /// what [`Fixup::tbs`] produced for signing.
    pub fn signed(&self, mut der: Vec<u8>) -> Result<Vec<u8>, String> {
        if !self.needed() {
            return Ok(der);
        }
        let outer = read_tlv(&der, 0, 0x30)?;
        if outer.end() != der.len() {
            return Err("trailing bytes after the signed object".into());
        }
        let tbs = read_tlv(&der, outer.content.start, 0x30)?;
        self.patch_tbs(&mut der, &tbs)?;
        let alg = read_tlv(&der, tbs.end(), 0x30)?;
        self.patch_sig_alg(&mut der, &alg)?;
        Ok(der)
    }

    fn patch_tbs(&self, buf: &mut [u8], tbs: &Tlv) -> Result<(), String> {
        let mut pos = tbs.content.start;
        let first = read_any(buf, pos)?;
        match self.subject {
            Some(subject) => {
                // [0] version, serial, signature, issuer, validity, subject, spki
                if first.tag == 0xA0 {
                    pos = first.end();
                }
                pos = read_tlv(buf, pos, 0x02)?.end();
                let alg = read_tlv(buf, pos, 0x30)?;
                self.patch_sig_alg(buf, &alg)?;
                pos = alg.end();
                for _ in 0..3 {
                    pos = read_tlv(buf, pos, 0x30)?.end();
                }
                let spki = read_tlv(buf, pos, 0x30)?;
                let spki_alg = read_tlv(buf, spki.content.start, 0x30)?;
                let key_type = read_tlv(buf, spki_alg.content.start, 0x06)?;
                let named_curve = read_tlv(buf, key_type.end(), 0x06)?;
                let written = curve_oid(rcgen_stand_in(subject));
                replace(buf, &named_curve, written, curve_oid(subject))
            }
            None => {
                // version (INTEGER 1), signature, ...
                if first.tag == 0x02 {
                    pos = first.end();
                }
                let alg = read_tlv(buf, pos, 0x30)?;
                self.patch_sig_alg(buf, &alg)
            }
        }
    }

    fn patch_sig_alg(&self, buf: &mut [u8], alg: &Tlv) -> Result<(), String> {
        let oid = read_tlv(buf, alg.content.start, 0x06)?;
        let written = sig_oid(rcgen_stand_in(self.issuer));
        replace(buf, &oid, written, sig_oid(self.issuer))
    }
}

fn replace(buf: &mut [u8], oid: &Tlv, written: &[u8], wanted: &[u8]) -> Result<(), String> {
    let content = &mut buf[oid.content.clone()];
    if content != written || written.len() != wanted.len() {
        return Err(format!(
            "unexpected OID content {} where rcgen writes {}",
            hex::encode(&*content),
            hex::encode(written)
        ));
    }
    content.copy_from_slice(wanted);
    Ok(())
}

/// One tag-length-value: its tag byte and the range of its content in the buffer.
struct Tlv {
    tag: u8,
    content: Range<usize>,
}

impl Tlv {
    fn end(&self) -> usize {
        self.content.end
    }
}

fn read_tlv(buf: &[u8], pos: usize, want_tag: u8) -> Result<Tlv, String> {
    let tlv = read_any(buf, pos)?;
    if tlv.tag != want_tag {
        return Err(format!(
            "tag {:#04x} at offset {pos}, expected {want_tag:#04x}",
            tlv.tag
        ));
    }
    Ok(tlv)
}

fn read_any(buf: &[u8], pos: usize) -> Result<Tlv, String> {
    let short = || format!("truncated DER at offset {pos}");
    let tag = *buf.get(pos).ok_or_else(short)?;
    if tag & 0x1F == 0x1F {
        return Err(format!("multi-byte tag at offset {pos}"));
    }
    let first = *buf.get(pos + 1).ok_or_else(short)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 {
            return Err(format!("unsupported length form at offset {pos}"));
        }
        let bytes = buf.get(pos + 2..pos + 2 + n).ok_or_else(short)?;
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    let start = pos + header;
    let end = start
        .checked_add(len)
        .filter(|e| *e <= buf.len())
        .ok_or_else(short)?;
    Ok(Tlv {
        tag,
        content: start..end,
    })
}
