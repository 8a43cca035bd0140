//! Reads the waPC `validate` payload, `{"request": <AdmissionRequest>,
//! "settings": <settings>}`, in one pass: the settings are kept as raw JSON
//! (compiled once per distinct document, see `lib.rs`), the request's
//! `operation` is read, its `object` is walked for images
//! (`discovery.rs`), and every other field, `oldObject` included, is skipped
//! unread.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::discovery::{Found, StrSeed, Walk, skip};

/// What the policy needs from a validate payload.
#[derive(Debug, Default)]
pub struct Payload<'de> {
    pub settings: Option<&'de RawValue>,
    pub request: Option<Request<'de>>,
}

#[derive(Debug, Default)]
pub struct Request<'de> {
    pub operation: Option<Cow<'de, str>>,
    /// Every image (or malformed image field) in `request.object`.
    pub images: Vec<Found<'de>>,
}

/// Reads a payload; the error says what is wrong with it.
pub fn read(bytes: &[u8]) -> Result<Payload<'_>, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let payload = PayloadSeed.deserialize(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(payload)
}

struct PayloadSeed;

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Payload<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with request and settings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut payload = Payload::default();
        while let Some(key) = map.next_key_seed(StrSeed)? {
            match key.as_ref() {
                "request" => payload.request = Some(map.next_value_seed(RequestSeed)?),
                "settings" => payload.settings = Some(map.next_value()?),
                _ => skip(&mut map)?,
            }
        }
        Ok(payload)
    }
}

struct RequestSeed;

impl<'de> DeserializeSeed<'de> for RequestSeed {
    type Value = Request<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed {
    type Value = Request<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an AdmissionRequest (a mapping)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut request = Request::default();
        while let Some(key) = map.next_key_seed(StrSeed)? {
            match key.as_ref() {
                "operation" => request.operation = Some(map.next_value_seed(StrSeed)?),
                "object" => {
                    let mut walk = Walk::default();
                    map.next_value_seed(ObjectSeed(&mut walk))?;
                    request.images = walk.found;
                }
                _ => skip(&mut map)?,
            }
        }
        Ok(request)
    }
}

/// `request.object`: a mapping, or null (DELETE).
struct ObjectSeed<'w, 'de>(&'w mut Walk<'de>);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.object(deserializer)
    }
}
