//! IEEE 488.2 arbitrary binary blocks and their decoding into arrays.

use ndarray::Array1;

/// Byte order of multi-byte samples in a binary block.
///
/// # Examples
///
/// ```
/// use smq_instrument::{decode_array, ByteOrder};
/// let bytes = [0x01, 0x02];
/// assert_eq!(decode_array::<u16>(&bytes, ByteOrder::Little).unwrap()[0], 0x0201);
/// assert_eq!(decode_array::<u16>(&bytes, ByteOrder::Big).unwrap()[0], 0x0102);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ByteOrder {
    /// Least significant byte first (`FORM:BORD SWAP` on most instruments).
    #[default]
    Little,
    /// Most significant byte first (`FORM:BORD NORM`, network order).
    Big,
}

/// Why a binary block could not be decoded.
///
/// # Examples
///
/// ```
/// use smq_instrument::{decode_block, BlockError};
/// assert!(matches!(decode_block(b"#15ab"), Err(BlockError::Incomplete { needed: 8, have: 5 })));
/// assert!(matches!(decode_block(b"xyz"), Err(BlockError::BadHeader(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The buffer ends before the block does; more bytes are needed.
    #[error("incomplete block: need at least {needed} bytes, have {have}")]
    Incomplete {
        /// Minimum total length needed to make progress.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The header is not `#<digit>...`.
    #[error("bad block header: {0}")]
    BadHeader(String),
    /// The payload length is not a multiple of the sample size.
    #[error("payload of {len} bytes is not a multiple of the {size}-byte sample size")]
    Misaligned {
        /// Payload length.
        len: usize,
        /// Sample size in bytes.
        size: usize,
    },
}

/// A decoded block header.
///
/// # Examples
///
/// ```
/// use smq_instrument::{parse_block_header, BlockHeader};
/// let h = parse_block_header(b"#9000001200").unwrap();
/// assert_eq!(h, BlockHeader::Definite { header_len: 11, len: 1200 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockHeader {
    /// `#<n><len>`: `len` payload bytes follow a header of `header_len` bytes.
    Definite {
        /// Length of the header (`2 + n`).
        header_len: usize,
        /// Length of the payload.
        len: usize,
    },
    /// `#0`: the payload runs until the terminating newline (and EOI).
    Indefinite,
}

/// Parse a block header at the start of `buf`.
///
/// # Examples
///
/// ```
/// use smq_instrument::{parse_block_header, BlockHeader};
/// assert_eq!(
///     parse_block_header(b"#15hello").unwrap(),
///     BlockHeader::Definite { header_len: 3, len: 5 }
/// );
/// assert_eq!(parse_block_header(b"#0abc\n").unwrap(), BlockHeader::Indefinite);
/// ```
pub fn parse_block_header(buf: &[u8]) -> Result<BlockHeader, BlockError> {
    let have = buf.len();
    match buf.first() {
        None => return Err(BlockError::Incomplete { needed: 2, have }),
        Some(b'#') => {}
        Some(&b) => {
            return Err(BlockError::BadHeader(format!(
                "expected '#', got byte 0x{b:02x}"
            )));
        }
    }
    let n = match buf.get(1) {
        None => return Err(BlockError::Incomplete { needed: 2, have }),
        Some(b'0') => return Ok(BlockHeader::Indefinite),
        Some(&d @ b'1'..=b'9') => usize::from(d - b'0'),
        Some(&b) => {
            return Err(BlockError::BadHeader(format!(
                "expected a digit after '#', got byte 0x{b:02x}"
            )));
        }
    };
    let digits = buf.get(2..2 + n).ok_or(BlockError::Incomplete {
        needed: 2 + n,
        have,
    })?;
    let mut len: usize = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(BlockError::BadHeader(format!(
                "expected {n} length digits, got byte 0x{d:02x}"
            )));
        }
        // At most 9 digits: cannot overflow a 64-bit usize; saturate elsewhere.
        len = len.saturating_mul(10).saturating_add(usize::from(d - b'0'));
    }
    Ok(BlockHeader::Definite {
        header_len: 2 + n,
        len,
    })
}

/// Decode one complete block at the start of `buf`.
///
/// Returns the payload and the number of bytes consumed. A definite block
/// consumes its header and payload (a terminator after it is left to the
/// caller); an indefinite block (`#0`) runs until the first `\n`, which is
/// consumed but not part of the payload.
///
/// # Examples
///
/// ```
/// use smq_instrument::decode_block;
/// assert_eq!(decode_block(b"#13abc\n").unwrap(), (&b"abc"[..], 6));
/// assert_eq!(decode_block(b"#0abc\n").unwrap(), (&b"abc"[..], 6));
/// assert!(decode_block(b"#15ab").is_err());
/// ```
pub fn decode_block(buf: &[u8]) -> Result<(&[u8], usize), BlockError> {
    match parse_block_header(buf)? {
        BlockHeader::Definite { header_len, len } => {
            let end = header_len.saturating_add(len);
            let payload = buf.get(header_len..end).ok_or(BlockError::Incomplete {
                needed: end,
                have: buf.len(),
            })?;
            Ok((payload, end))
        }
        BlockHeader::Indefinite => {
            let rest = &buf[2..];
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => Ok((&rest[..i], 2 + i + 1)),
                None => Err(BlockError::Incomplete {
                    needed: buf.len() + 1,
                    have: buf.len(),
                }),
            }
        }
    }
}

/// Encode `payload` as a definite-length block `#<n><len><payload>`.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::encode_block(b"abc"), b"#13abc");
/// ```
pub fn encode_block(payload: &[u8]) -> Vec<u8> {
    let len = payload.len().to_string();
    let mut out = Vec::with_capacity(2 + len.len() + payload.len());
    out.push(b'#');
    // A usize has at most 20 digits; the standard allows 9. Longer payloads
    // cannot be framed, so they are framed with the last 9 digits — callers
    // never send more than 999 999 999 bytes in one block.
    let len = &len[len.len().saturating_sub(9)..];
    out.push(b'0' + len.len() as u8);
    out.extend_from_slice(len.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Encode `payload` as an indefinite-length block `#0<payload>\n`.
///
/// The payload must not contain `\n`, or a reader will stop early.
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::encode_block_indefinite(b"abc"), b"#0abc\n");
/// ```
pub fn encode_block_indefinite(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.extend_from_slice(b"#0");
    out.extend_from_slice(payload);
    out.push(b'\n');
    out
}

mod sealed {
    pub trait Sealed {}
}

/// A sample type that binary blocks can carry: `u8`, `i8`, `i16`, `u16`,
/// `i32`, `f32` and `f64`.
///
/// # Examples
///
/// ```
/// use smq_instrument::{BlockElement, ByteOrder};
/// assert_eq!(<f32 as BlockElement>::SIZE, 4);
/// assert_eq!(i16::from_bytes(&[0xff, 0xfe], ByteOrder::Big), -2);
/// ```
pub trait BlockElement: Copy + sealed::Sealed + 'static {
    /// Size of one sample in bytes.
    const SIZE: usize;
    /// Decode one sample from exactly `SIZE` bytes.
    fn from_bytes(bytes: &[u8], order: ByteOrder) -> Self;
    /// Append the encoding of `self` to `out`.
    fn write_bytes(self, order: ByteOrder, out: &mut Vec<u8>);
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl BlockElement for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn from_bytes(bytes: &[u8], order: ByteOrder) -> Self {
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..Self::SIZE]);
                match order {
                    ByteOrder::Little => <$t>::from_le_bytes(raw),
                    ByteOrder::Big => <$t>::from_be_bytes(raw),
                }
            }
            fn write_bytes(self, order: ByteOrder, out: &mut Vec<u8>) {
                match order {
                    ByteOrder::Little => out.extend_from_slice(&self.to_le_bytes()),
                    ByteOrder::Big => out.extend_from_slice(&self.to_be_bytes()),
                }
            }
        }
    )*};
}
element!(u8, i8, i16, u16, i32, f32, f64);

/// Decode a block payload into samples of type `T`.
///
/// # Examples
///
/// ```
/// use smq_instrument::{decode_array, ByteOrder};
/// let a = decode_array::<i16>(&[0x01, 0x00, 0xff, 0xff], ByteOrder::Little).unwrap();
/// assert_eq!(a.to_vec(), vec![1, -1]);
/// let b = decode_array::<u16>(&[0x01, 0x00], ByteOrder::Big).unwrap();
/// assert_eq!(b[0], 256);
/// ```
pub fn decode_array<T: BlockElement>(
    payload: &[u8],
    order: ByteOrder,
) -> Result<Array1<T>, BlockError> {
    if !payload.len().is_multiple_of(T::SIZE) {
        return Err(BlockError::Misaligned {
            len: payload.len(),
            size: T::SIZE,
        });
    }
    Ok(payload
        .chunks_exact(T::SIZE)
        .map(|c| T::from_bytes(c, order))
        .collect())
}

/// Encode samples as a block payload (the inverse of [`decode_array`]).
///
/// # Examples
///
/// ```
/// use smq_instrument::{encode_array, ByteOrder};
/// assert_eq!(encode_array(&[1i16, -1], ByteOrder::Big), vec![0x00, 0x01, 0xff, 0xff]);
/// ```
pub fn encode_array<T: BlockElement>(samples: &[T], order: ByteOrder) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * T::SIZE);
    for &s in samples {
        s.write_bytes(order, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn headers() {
        assert!(matches!(
            parse_block_header(b"X"),
            Err(BlockError::BadHeader(_))
        ));
        assert!(matches!(
            parse_block_header(b"#A"),
            Err(BlockError::BadHeader(_))
        ));
        assert!(matches!(
            parse_block_header(b"#3x"),
            Err(BlockError::Incomplete { .. })
        ));
        assert!(matches!(
            parse_block_header(b"#2x1"),
            Err(BlockError::BadHeader(_))
        ));
        assert_eq!(
            parse_block_header(b"#9000001200").unwrap(),
            BlockHeader::Definite {
                header_len: 11,
                len: 1200
            }
        );
    }

    #[test]
    fn misaligned() {
        assert_eq!(
            decode_array::<f32>(&[0; 5], ByteOrder::Big),
            Err(BlockError::Misaligned { len: 5, size: 4 })
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_block_header(&bytes);
            if let Ok((payload, used)) = decode_block(&bytes) {
                prop_assert!(used <= bytes.len());
                prop_assert!(payload.len() <= used);
            }
            let _ = decode_array::<f64>(&bytes, ByteOrder::Big);
            let _ = decode_array::<i16>(&bytes, ByteOrder::Little);
        }

        #[test]
        fn header_prefix_never_panics(n in 0u8..=9, digits in "[0-9]{0,9}", tail in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut buf = vec![b'#', b'0' + n];
            buf.extend_from_slice(digits.as_bytes());
            buf.extend_from_slice(&tail);
            let _ = decode_block(&buf);
        }

        #[test]
        fn definite_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..2048), trailer in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut enc = encode_block(&payload);
            let n = enc.len();
            enc.extend_from_slice(&trailer);
            let (dec, used) = decode_block(&enc).unwrap();
            prop_assert_eq!(dec, &payload[..]);
            prop_assert_eq!(used, n);
        }

        #[test]
        fn indefinite_round_trip(payload in proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..512)) {
            let enc = encode_block_indefinite(&payload);
            let (dec, used) = decode_block(&enc).unwrap();
            prop_assert_eq!(dec, &payload[..]);
            prop_assert_eq!(used, enc.len());
        }

        #[test]
        fn array_round_trip_f64(v in proptest::collection::vec(any::<f64>(), 0..64), big in any::<bool>()) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let bytes = encode_array(&v, order);
            let back = decode_array::<f64>(&bytes, order).unwrap();
            prop_assert_eq!(back.len(), v.len());
            for (a, b) in back.iter().zip(&v) {
                prop_assert_eq!(a.to_bits(), b.to_bits());
            }
        }

        #[test]
        fn array_round_trip_ints(v in proptest::collection::vec(any::<i32>(), 0..64), w in proptest::collection::vec(any::<u16>(), 0..64), big in any::<bool>()) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let block = encode_block(&encode_array(&v, order));
            let (payload, _) = decode_block(&block).unwrap();
            prop_assert_eq!(decode_array::<i32>(payload, order).unwrap().to_vec(), v);
            let bytes = encode_array(&w, order);
            prop_assert_eq!(decode_array::<u16>(&bytes, order).unwrap().to_vec(), w);
        }

        #[test]
        fn array_round_trip_small(v in proptest::collection::vec(any::<i8>(), 0..64), f in proptest::collection::vec(-1e30f32..1e30, 0..64)) {
            let bytes = encode_array(&v, ByteOrder::Big);
            prop_assert_eq!(decode_array::<i8>(&bytes, ByteOrder::Little).unwrap().to_vec(), v.clone());
            let u: Vec<u8> = v.iter().map(|&x| x as u8).collect();
            prop_assert_eq!(decode_array::<u8>(&bytes, ByteOrder::Big).unwrap().to_vec(), u);
            let bytes = encode_array(&f, ByteOrder::Little);
            prop_assert_eq!(decode_array::<f32>(&bytes, ByteOrder::Little).unwrap().to_vec(), f);
        }
    }
}
