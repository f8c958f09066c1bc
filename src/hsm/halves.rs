//! The key objects that carry a key's id or label, whole pairs and lone halves, and the
//! removal of a lone half. A key generation cut short (a process killed inside
//! `C_GenerateKeyPair`, a card pulled before OpenSC wrote its PKCS#15 files) can leave
//! only the public or only the private object; the engine decides whether such a half
//! may be removed, and only through its exception procedure.

use super::curves::curve_from_params;
use super::error::HsmError;
use super::session::UserSession;
use crate::checklist::model::Curve;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};

/// Which half of a key pair an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Public,
    Private,
}

impl Half {
    pub fn name(self) -> &'static str {
        match self {
            Half::Public => "public",
            Half::Private => "private",
        }
    }
}

/// One key object on a token, as PKCS#11 shows it.
#[derive(Debug, Clone)]
pub struct KeyObject {
    handle: ObjectHandle,
    pub half: Half,
    pub id: Vec<u8>,
    pub label: String,
    /// None when the token does not show the curve of this object.
    pub curve: Option<Curve>,
}

impl KeyObject {
    /// Neither an id nor a label: a key object whose creation was cut short.
    pub fn unnamed(&self) -> bool {
        self.id.is_empty() && self.label.is_empty()
    }

    /// One line for messages and the transcript.
    pub fn describe(&self) -> String {
        if self.unnamed() {
            return format!(
                "a {} key object with no id and no label{}",
                self.half.name(),
                self.curve
                    .map(|c| format!(" on {}", c.name()))
                    .unwrap_or_default()
            );
        }
        format!(
            "a {} key object with id {} and label {:?}{}",
            self.half.name(),
            hex::encode(&self.id),
            self.label,
            self.curve
                .map(|c| format!(" on {}", c.name()))
                .unwrap_or_default()
        )
    }
}

impl UserSession {
    /// Every public or private key object whose id is `id` or whose label is `label`, and
    /// every one with neither an id nor a label (what SoftHSM leaves when it is killed
    /// after creating a key object and before writing its attributes).
    pub fn key_objects(&self, id: &[u8], label: &str) -> Result<Vec<KeyObject>, HsmError> {
        let mut out: Vec<KeyObject> = Vec::new();
        for half in [Half::Public, Half::Private] {
            let class = match half {
                Half::Public => ObjectClass::PUBLIC_KEY,
                Half::Private => ObjectClass::PRIVATE_KEY,
            };
            for handle in self.find(&[Attribute::Class(class)])? {
                let object = self.key_object(handle, half)?;
                if object.id == id || object.label == label || object.unnamed() {
                    out.push(object);
                }
            }
        }
        Ok(out)
    }

    /// Removes a lone half with `C_DestroyObject`. The caller has established that it is
    /// the half of the key this ceremony announced and that it never signed anything.
    pub fn destroy_half(&self, object: &KeyObject) -> Result<(), HsmError> {
        self.session
            .destroy_object(object.handle)
            .map_err(HsmError::on("C_DestroyObject", &self.serial))
    }

    fn key_object(&self, handle: ObjectHandle, half: Half) -> Result<KeyObject, HsmError> {
        let attrs = self.attributes(
            handle,
            &[
                AttributeType::Id,
                AttributeType::Label,
                AttributeType::EcParams,
            ],
        )?;
        let mut object = KeyObject {
            handle,
            half,
            id: Vec::new(),
            label: String::new(),
            curve: None,
        };
        for attr in attrs {
            match attr {
                Attribute::Id(v) => object.id = v,
                Attribute::Label(v) => object.label = String::from_utf8_lossy(&v).into_owned(),
                Attribute::EcParams(v) => object.curve = curve_from_params(&v),
                _ => {}
            }
        }
        Ok(object)
    }
}

/// The lone halves among `objects`: those without an object of the other half that has
/// the same id and label.
pub fn lone_halves(objects: &[KeyObject]) -> Vec<&KeyObject> {
    objects
        .iter()
        .filter(|o| {
            !objects
                .iter()
                .any(|p| p.half != o.half && p.id == o.id && p.label == o.label)
        })
        .collect()
}
