//! LOCAL_PREF, type 5 (RFC 4271 section 5.1.5). Length other than 4:
//! treat-as-withdraw; from an external peer: discarded (RFC 7606 section 7.5).

use super::exact4;
use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<u32, AttrError> {
    exact4(v).map(u32::from_be_bytes)
}
