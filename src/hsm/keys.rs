//! Key pairs on a token: generation with a safe template and read-back, lookup by id
//! and label, and signing through the [`RemoteKey`] seam.

use super::curves::{curve_from_params, curve_params_der, unwrap_ec_point};
use super::error::HsmError;
use super::session::UserSession;
use crate::checklist::model::Curve;
use crate::pki::RemoteKey;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

/// What identifies a key pair on a token, and its public point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub id: Vec<u8>,
    pub label: String,
    pub curve: Curve,
    /// Uncompressed SEC1 point.
    pub point: Vec<u8>,
}

/// A private key on a token, usable for signing while its session lives.
pub struct TokenKey<'s> {
    session: &'s UserSession,
    handle: ObjectHandle,
    pub facts: KeyFacts,
}

impl UserSession {
    /// Generates an EC key pair on the token and returns what the token reports of its
    /// public half. Refuses when any object already has this id or label.
    ///
    /// The private key's protection is not checked here: OpenSC shows a key it has just
    /// generated without its access flags until the module reads the token again, so
    /// the caller re-opens the module and calls [`read_back`](Self::read_back).
    pub fn generate_key(&self, id: &[u8], label: &str, curve: Curve) -> Result<KeyFacts, HsmError> {
        self.refuse_existing(&[Attribute::Id(id.to_vec())], || {
            format!("id {}", hex::encode(id))
        })?;
        self.refuse_existing(&[Attribute::Label(label.as_bytes().to_vec())], || {
            format!("label {label:?}")
        })?;
        let common = [
            Attribute::Token(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let mut public = common.to_vec();
        public.extend([
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(curve_params_der(curve).to_vec()),
        ]);
        let mut private = common.to_vec();
        private.extend([
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ]);
        self.session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(HsmError::on("C_GenerateKeyPair", &self.serial))?;
        let (found, point) = self.public_point(id, label)?;
        if found != curve {
            return Err(self.unsafe_key(id, label, "generated on a different curve"));
        }
        Ok(KeyFacts {
            id: id.to_vec(),
            label: label.to_string(),
            curve,
            point,
        })
    }

    /// Reads a freshly generated key back, in a module that has read the token again
    /// since the generation: it must be the only key with this id and label, on this
    /// curve, with the public point the generation reported, and carry every attribute
    /// that proves it was made on the token and can never leave it.
    pub fn read_back(&self, generated: &KeyFacts) -> Result<TokenKey<'_>, HsmError> {
        let (id, label) = (generated.id.as_slice(), generated.label.as_str());
        let key = self.find_key(id, label)?.ok_or_else(|| HsmError::Token {
            serial: self.serial.clone(),
            problem: format!("key {label} was generated but cannot be found again"),
        })?;
        self.check_private_key(key.handle, id, label)?;
        if key.facts.curve != generated.curve {
            return Err(self.unsafe_key(id, label, "generated on a different curve"));
        }
        if key.facts.point != generated.point {
            return Err(self.unsafe_key(
                id,
                label,
                "its public key differs from the one the generation returned",
            ));
        }
        Ok(key)
    }

    /// Takes over a key pair that a generation interrupted before it was recorded: it
    /// must be the only key with this id and label, on this curve, carry every attribute
    /// [`generate_key`](Self::generate_key) checks (CKA_LOCAL proves it was generated on
    /// the token, not imported), and sign a random challenge that verifies under the
    /// public key stored with it.
    pub fn adopt_key(
        &self,
        id: &[u8],
        label: &str,
        curve: Curve,
    ) -> Result<TokenKey<'_>, HsmError> {
        let key = self.find_key(id, label)?.ok_or_else(|| HsmError::Token {
            serial: self.serial.clone(),
            problem: format!("no key {label} with id {} to take over", hex::encode(id)),
        })?;
        self.check_private_key(key.handle, id, label)?;
        if key.facts.curve != curve {
            return Err(self.unsafe_key(id, label, "on a different curve than the checklist's"));
        }
        // The public object could have been replaced on its own: the private key must
        // sign for the point that would be recorded and certified.
        let challenge = self.random(32)?;
        let point = key.facts.point.clone();
        match crate::pki::proves_possession(&key, &point, &challenge) {
            Ok(true) => Ok(key),
            Ok(false) => Err(self.unsafe_key(
                id,
                label,
                "its private key does not sign for the public key stored beside it",
            )),
            Err(e) => Err(HsmError::Token {
                serial: self.serial.clone(),
                problem: format!("signing a challenge with key {label}: {e}"),
            }),
        }
    }

    /// The key pair with both this id and this label, if there is one.
    pub fn find_key(&self, id: &[u8], label: &str) -> Result<Option<TokenKey<'_>>, HsmError> {
        let template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let found = self.find(&template)?;
        match found.as_slice() {
            [] => Ok(None),
            [handle] => {
                let (curve, point) = self.public_point(id, label)?;
                Ok(Some(TokenKey {
                    session: self,
                    handle: *handle,
                    facts: KeyFacts {
                        id: id.to_vec(),
                        label: label.to_string(),
                        curve,
                        point,
                    },
                }))
            }
            _ => Err(HsmError::Token {
                serial: self.serial.clone(),
                problem: format!(
                    "{} private keys share id {} and label {label:?}",
                    found.len(),
                    hex::encode(id)
                ),
            }),
        }
    }

    /// Every EC key pair on the token (private key plus its public half).
    pub fn list_keys(&self) -> Result<Vec<KeyFacts>, HsmError> {
        let handles = self.find(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])?;
        let mut out = Vec::new();
        for handle in handles {
            let attrs = self.attributes(handle, &[AttributeType::Id, AttributeType::Label])?;
            let (mut id, mut label) = (Vec::new(), String::new());
            for attr in attrs {
                match attr {
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = String::from_utf8_lossy(&v).into_owned(),
                    _ => {}
                }
            }
            let (curve, point) = self.public_point(&id, &label)?;
            out.push(KeyFacts {
                id,
                label,
                curve,
                point,
            });
        }
        Ok(out)
    }

    /// The public key object with this id and label: its curve and bare point.
    fn public_point(&self, id: &[u8], label: &str) -> Result<(Curve, Vec<u8>), HsmError> {
        let template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let found = self.find(&template)?;
        let [handle] = found.as_slice() else {
            return Err(self.bad_public(format!(
                "{} EC public keys with id {} and label {label:?} (expected exactly one)",
                found.len(),
                hex::encode(id)
            )));
        };
        let attrs = self.attributes(*handle, &[AttributeType::EcParams, AttributeType::EcPoint])?;
        let (mut params, mut raw_point) = (Vec::new(), Vec::new());
        for attr in attrs {
            match attr {
                Attribute::EcParams(v) => params = v,
                Attribute::EcPoint(v) => raw_point = v,
                _ => {}
            }
        }
        let curve = curve_from_params(&params).ok_or_else(|| {
            self.bad_public(format!("unknown curve parameters {}", hex::encode(&params)))
        })?;
        let point = unwrap_ec_point(curve, &raw_point).map_err(|p| self.bad_public(p))?;
        Ok((curve, point))
    }

    fn check_private_key(
        &self,
        handle: ObjectHandle,
        id: &[u8],
        label: &str,
    ) -> Result<(), HsmError> {
        let wanted = [
            (AttributeType::Token, true, "not a token object"),
            (AttributeType::Private, true, "not private"),
            (AttributeType::Sensitive, true, "not sensitive"),
            (AttributeType::Extractable, false, "extractable"),
            (
                AttributeType::Local,
                true,
                "not generated on the token (CKA_LOCAL false)",
            ),
            (AttributeType::AlwaysSensitive, true, "not always sensitive"),
            (
                AttributeType::NeverExtractable,
                true,
                "was extractable at some point",
            ),
        ];
        let types: Vec<AttributeType> = wanted.iter().map(|w| w.0).collect();
        let attrs = self.attributes(handle, &types)?;
        for (ty, want, problem) in wanted {
            let value = attrs.iter().find_map(|a| bool_of(a, ty));
            if value != Some(want) {
                return Err(self.unsafe_key(id, label, problem));
            }
        }
        Ok(())
    }

    fn refuse_existing(
        &self,
        template: &[Attribute],
        what: impl Fn() -> String,
    ) -> Result<(), HsmError> {
        if self.find(template)?.is_empty() {
            Ok(())
        } else {
            Err(HsmError::KeyExists {
                serial: self.serial.clone(),
                what: what(),
            })
        }
    }

    pub(super) fn find(&self, template: &[Attribute]) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(template)
            .map_err(HsmError::on("C_FindObjects", &self.serial))
    }

    pub(super) fn attributes(
        &self,
        handle: ObjectHandle,
        types: &[AttributeType],
    ) -> Result<Vec<Attribute>, HsmError> {
        self.session
            .get_attributes(handle, types)
            .map_err(HsmError::on("C_GetAttributeValue", &self.serial))
    }

    fn unsafe_key(&self, id: &[u8], label: &str, problem: &str) -> HsmError {
        HsmError::UnsafeKey {
            serial: self.serial.clone(),
            label: label.into(),
            id: hex::encode(id),
            problem: problem.into(),
        }
    }

    fn bad_public(&self, problem: String) -> HsmError {
        HsmError::BadPublicKey {
            serial: self.serial.clone(),
            problem,
        }
    }
}

fn bool_of(attr: &Attribute, ty: AttributeType) -> Option<bool> {
    match (attr, ty) {
        (Attribute::Token(b), AttributeType::Token)
        | (Attribute::Private(b), AttributeType::Private)
        | (Attribute::Sensitive(b), AttributeType::Sensitive)
        | (Attribute::Extractable(b), AttributeType::Extractable)
        | (Attribute::Local(b), AttributeType::Local)
        | (Attribute::AlwaysSensitive(b), AttributeType::AlwaysSensitive)
        | (Attribute::NeverExtractable(b), AttributeType::NeverExtractable) => Some(*b),
        _ => None,
    }
}

impl RemoteKey for TokenKey<'_> {
    fn curve(&self) -> Curve {
        self.facts.curve
    }

    fn public_point(&self) -> &[u8] {
        &self.facts.point
    }

    /// `C_Sign` with `CKM_ECDSA` over a digest computed by the caller.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, String> {
        self.session
            .session
            .sign(&Mechanism::Ecdsa, self.handle, digest)
            .map_err(|e| HsmError::on("C_Sign", &self.session.serial)(e).to_string())
    }
}
