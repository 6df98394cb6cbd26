//! A bounds-checked cursor over message bytes that remembers absolute
//! offsets, so every error can say where in the message it happened.
//!
//! The fixed-width reads are nom's big-endian primitives; nom stays private
//! to this crate and its errors never escape: a short read becomes
//! [`Short`], which names the absolute offset and how many bytes were missing.

use std::net::Ipv4Addr;

use nom::{
    bytes::complete::take,
    number::complete::{be_u16, be_u32, be_u8},
    IResult, Parser,
};

/// The input ended before a field did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short {
    /// Absolute offset where the field started.
    pub offset: usize,
    /// Bytes the field needed.
    pub needed: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    /// Absolute offset of `rest[0]` in the message.
    pos: usize,
}

type NomRes<'a, T> = IResult<&'a [u8], T, ()>;

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte sits at absolute `offset`.
    pub(crate) fn new(buf: &'a [u8], offset: usize) -> Self {
        Self {
            rest: buf,
            pos: offset,
        }
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    fn run<T>(&mut self, needed: usize, res: NomRes<'a, T>) -> Result<T, Short> {
        match res {
            Ok((rest, v)) => {
                self.pos += self.rest.len() - rest.len();
                self.rest = rest;
                Ok(v)
            }
            Err(_) => Err(Short {
                offset: self.pos,
                needed,
            }),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Short> {
        let r = be_u8(self.rest);
        self.run(1, r)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Short> {
        let r = be_u16(self.rest);
        self.run(2, r)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Short> {
        let r = be_u32(self.rest);
        self.run(4, r)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let r = take::<usize, &'a [u8], ()>(n).parse(self.rest);
        self.run(n, r)
    }

    /// Splits off the next `n` bytes as a reader of their own.
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, Short> {
        let at = self.pos;
        self.bytes(n).map(|b| Reader::new(b, at))
    }

    pub(crate) fn ipv4(&mut self) -> Result<Ipv4Addr, Short> {
        self.u32().map(Ipv4Addr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_absolute() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5], 19);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.offset(), 20);
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(
            r.u32(),
            Err(Short {
                offset: 22,
                needed: 4
            })
        );
        let mut s = r.sub(2).unwrap();
        assert_eq!(s.offset(), 22);
        assert_eq!(s.u16(), Ok(0x0405));
        assert!(r.is_empty());
    }
}
