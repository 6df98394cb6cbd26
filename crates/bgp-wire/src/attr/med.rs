//! MULTI_EXIT_DISC, type 4 (RFC 4271 section 5.1.4). Length other than 4:
//! treat-as-withdraw (RFC 7606 section 7.4).

use super::exact4;
use crate::error::AttrError;

pub(crate) fn decode(v: &[u8]) -> Result<u32, AttrError> {
    exact4(v).map(u32::from_be_bytes)
}
