//! ATOMIC_AGGREGATE, type 6 (RFC 4271 section 5.1.6). Length other than 0:
//! attribute-discard (RFC 7606 section 7.6).

use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<(), AttrError> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(AttrError::Length {
            length: v.len() as u16,
        })
    }
}
