//! Curve parameters and public point encodings as PKCS#11 carries them.

use crate::checklist::model::Curve;

/// DER of the named-curve OID that goes into `CKA_EC_PARAMS`.
pub fn curve_params_der(curve: Curve) -> &'static [u8] {
    match curve {
        Curve::P256 => &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
        Curve::P384 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
        Curve::P521 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23],
    }
}

/// The curve whose OID `params` is, if it is one we use.
pub fn curve_from_params(params: &[u8]) -> Option<Curve> {
    [Curve::P256, Curve::P384, Curve::P521]
        .into_iter()
        .find(|c| curve_params_der(*c) == params)
}

/// Length of the uncompressed SEC1 point `04 || X || Y`.
pub fn point_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 65,
        Curve::P384 => 97,
        Curve::P521 => 133,
    }
}

/// `CKA_EC_POINT` is a DER OCTET STRING around the point (some modules send it bare):
/// returns the bare uncompressed point, checked for length and form.
pub fn unwrap_ec_point(curve: Curve, raw: &[u8]) -> Result<Vec<u8>, String> {
    let want = point_len(curve);
    let point = if raw.len() == want && raw[0] == 0x04 {
        raw
    } else {
        unwrap_octet_string(raw)?
    };
    if point.len() != want || point[0] != 0x04 {
        return Err(format!(
            "expected an uncompressed {} point of {want} bytes, got {} bytes",
            curve.name(),
            point.len()
        ));
    }
    Ok(point.to_vec())
}

fn unwrap_octet_string(raw: &[u8]) -> Result<&[u8], String> {
    let bad = || {
        format!(
            "CKA_EC_POINT is not a DER OCTET STRING ({} bytes)",
            raw.len()
        )
    };
    if raw.len() < 2 || raw[0] != 0x04 {
        return Err(bad());
    }
    let (len, start) = match raw[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 if raw.len() > 2 => (raw[2] as usize, 3),
        _ => return Err(bad()),
    };
    if raw.len() != start + len {
        return Err(bad());
    }
    Ok(&raw[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_short_and_long_form_octet_strings() {
        let mut p384 = vec![0x04, 97, 0x04];
        p384.extend([7u8; 96]);
        assert_eq!(unwrap_ec_point(Curve::P384, &p384).unwrap().len(), 97);
        let mut p521 = vec![0x04, 0x81, 133, 0x04];
        p521.extend([7u8; 132]);
        assert_eq!(unwrap_ec_point(Curve::P521, &p521).unwrap().len(), 133);
        assert!(unwrap_ec_point(Curve::P384, &p521).is_err());
        assert_eq!(
            curve_from_params(curve_params_der(Curve::P521)),
            Some(Curve::P521)
        );
    }
}
