//! XDR (RFC 4506), the few types VXI-11 uses: 32-bit integers, booleans, variable-length
//! opaque data and strings, each padded to a multiple of four bytes.

use super::WireError;

/// Appends XDR items to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    pub(crate) buf: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(u32::from(v))
    }

    /// Variable-length opaque data: length, bytes, zero padding. Lengths are limited by the
    /// callers (a VXI-11 write is split at the server's maximum), so the cast is exact.
    pub(crate) fn opaque(&mut self, data: &[u8]) -> &mut Self {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(data);
        let pad = (4 - data.len() % 4) % 4;
        self.buf.extend_from_slice(&[0; 3][..pad]);
        self
    }

    pub(crate) fn string(&mut self, s: &str) -> &mut Self {
        self.opaque(s.as_bytes())
    }
}

/// Reads XDR items from a buffer; every read checks the length first.
#[derive(Debug)]
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, WireError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, WireError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(WireError::Invalid(format!("boolean {v}"))),
        }
    }

    pub(crate) fn opaque(&mut self) -> Result<Vec<u8>, WireError> {
        let len = self.u32()? as usize;
        let data = self.take(len)?.to_vec();
        self.take((4 - len % 4) % 4)?;
        Ok(data)
    }

    pub(crate) fn string(&mut self) -> Result<String, WireError> {
        String::from_utf8(self.opaque()?).map_err(|_| WireError::Invalid("string not UTF-8".into()))
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_is_padded_to_four_bytes() {
        let mut e = Encoder::default();
        e.opaque(b"*IDN?").u32(7);
        assert_eq!(
            e.buf,
            [
                0, 0, 0, 5, b'*', b'I', b'D', b'N', b'?', 0, 0, 0, 0, 0, 0, 7
            ]
        );
        let mut d = Decoder::new(&e.buf);
        assert_eq!(d.opaque().unwrap(), b"*IDN?");
        assert_eq!(d.u32().unwrap(), 7);
        assert!(d.rest().is_empty());
    }

    #[test]
    fn short_input_is_an_error() {
        assert_eq!(
            Decoder::new(&[0, 0, 0, 9, 1]).opaque(),
            Err(WireError::Truncated)
        );
        assert_eq!(Decoder::new(&[0, 0]).u32(), Err(WireError::Truncated));
        assert!(Decoder::new(&[0, 0, 0, 2]).bool().is_err());
    }
}
