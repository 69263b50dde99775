//! USBTMC 1.0 / USB488 framing: the Bulk-OUT and Bulk-IN headers, bTag, the class
//! requests and their status codes. Plain functions over bytes.

/// MsgID of a Bulk-OUT message carrying device-dependent data (USBTMC 1.0, table 2).
pub const DEV_DEP_MSG_OUT: u8 = 1;
/// MsgID of a Bulk-OUT request for a device-dependent message, and of the Bulk-IN answer.
pub const REQUEST_DEV_DEP_MSG_IN: u8 = 2;
/// Size of a Bulk-OUT or Bulk-IN header.
pub const HEADER_LEN: usize = 12;

/// Class request: abort the Bulk-OUT transfer with a given bTag (USBTMC 1.0, table 15).
pub const INITIATE_ABORT_BULK_OUT: u8 = 1;
/// Class request: how the Bulk-OUT abort is going.
pub const CHECK_ABORT_BULK_OUT_STATUS: u8 = 2;
/// Class request: abort the Bulk-IN transfer with a given bTag.
pub const INITIATE_ABORT_BULK_IN: u8 = 3;
/// Class request: how the Bulk-IN abort is going.
pub const CHECK_ABORT_BULK_IN_STATUS: u8 = 4;
/// Class request: clear the device's input and output buffers (device clear).
pub const INITIATE_CLEAR: u8 = 5;
/// Class request: how the clear is going.
pub const CHECK_CLEAR_STATUS: u8 = 6;
/// Class request: the interface's capabilities.
pub const GET_CAPABILITIES: u8 = 7;
/// USB488 class request: the IEEE 488.2 status byte (USB488, table 11).
pub const READ_STATUS_BYTE: u8 = 128;

/// Interface class and subclass of a USBTMC interface.
pub const USBTMC_CLASS: u8 = 0xFE;
/// See [`USBTMC_CLASS`].
pub const USBTMC_SUBCLASS: u8 = 0x03;

/// The `USBTMC_status` byte that starts the answer to a class request (USBTMC 1.0,
/// table 16).
///
/// # Examples
///
/// ```
/// use smq_instrument::usbtmc::Status;
/// assert_eq!(Status::from_byte(0x02), Status::Pending);
/// assert_eq!(Status::from_byte(0x81), Status::TransferNotInProgress);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `STATUS_SUCCESS` (0x01).
    Success,
    /// `STATUS_PENDING` (0x02): ask again.
    Pending,
    /// `STATUS_FAILED` (0x80).
    Failed,
    /// `STATUS_TRANSFER_NOT_IN_PROGRESS` (0x81): nothing to abort.
    TransferNotInProgress,
    /// `STATUS_SPLIT_NOT_IN_PROGRESS` (0x82).
    SplitNotInProgress,
    /// `STATUS_SPLIT_IN_PROGRESS` (0x83).
    SplitInProgress,
    /// Any other value.
    Other(u8),
}

impl Status {
    /// The status a byte stands for.
    pub fn from_byte(b: u8) -> Self {
        match b {
            0x01 => Self::Success,
            0x02 => Self::Pending,
            0x80 => Self::Failed,
            0x81 => Self::TransferNotInProgress,
            0x82 => Self::SplitNotInProgress,
            0x83 => Self::SplitInProgress,
            other => Self::Other(other),
        }
    }
}

/// The bTag after `tag`: 1 to 255, never 0, as the host must change it for each
/// Bulk-OUT message.
///
/// # Examples
///
/// ```
/// use smq_instrument::usbtmc::next_tag;
/// assert_eq!(next_tag(1), 2);
/// assert_eq!(next_tag(255), 1);
/// ```
pub fn next_tag(tag: u8) -> u8 {
    if tag == u8::MAX { 1 } else { tag + 1 }
}

/// The bTag of a USB488 `READ_STATUS_BYTE` request after `tag`: 2 to 127 (USB488 4.3.1).
///
/// # Examples
///
/// ```
/// assert_eq!(smq_instrument::usbtmc::next_status_tag(127), 2);
/// ```
pub fn next_status_tag(tag: u8) -> u8 {
    if (2..127).contains(&tag) { tag + 1 } else { 2 }
}

/// Zero bytes that pad a transfer of `len` bytes to a multiple of four.
fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// The 4-byte start of every header: MsgID, bTag, bTagInverse, reserved.
fn header_start(msg_id: u8, tag: u8) -> [u8; 4] {
    [msg_id, tag, !tag, 0]
}

/// A whole `DEV_DEP_MSG_OUT` transfer: header, `data`, alignment bytes. `eom` marks the
/// last transfer of a message (USBTMC 1.0, 3.2.1.1).
///
/// # Examples
///
/// ```
/// let t = smq_instrument::usbtmc::dev_dep_msg_out(1, b"*IDN?\n", true);
/// assert_eq!(&t[..12], [1, 1, 0xFE, 0, 6, 0, 0, 0, 1, 0, 0, 0]);
/// assert_eq!(&t[12..], b"*IDN?\n\0\0");
/// ```
pub fn dev_dep_msg_out(tag: u8, data: &[u8], eom: bool) -> Vec<u8> {
    let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut t = Vec::with_capacity(HEADER_LEN + data.len() + 3);
    t.extend_from_slice(&header_start(DEV_DEP_MSG_OUT, tag));
    t.extend_from_slice(&size.to_le_bytes());
    t.extend_from_slice(&[u8::from(eom), 0, 0, 0]);
    t.extend_from_slice(data);
    t.resize(t.len() + padding(data.len()), 0);
    t
}

/// A `REQUEST_DEV_DEP_MSG_IN` header: the device may send up to `transfer_size` message
/// bytes; with `term_char`, it may stop after that byte (USBTMC 1.0, 3.2.1.2).
///
/// # Examples
///
/// ```
/// let h = smq_instrument::usbtmc::request_dev_dep_msg_in(2, 1024, None);
/// assert_eq!(h, [2, 2, 0xFD, 0, 0, 4, 0, 0, 0, 0, 0, 0]);
/// ```
pub fn request_dev_dep_msg_in(tag: u8, transfer_size: u32, term_char: Option<u8>) -> [u8; 12] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&header_start(REQUEST_DEV_DEP_MSG_IN, tag));
    h[4..8].copy_from_slice(&transfer_size.to_le_bytes());
    if let Some(c) = term_char {
        h[8] = 0x02;
        h[9] = c;
    }
    h
}

/// The header of a `DEV_DEP_MSG_IN` transfer, as the device sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgIn {
    /// Message bytes in this transfer (after the header, before the alignment bytes).
    pub transfer_size: u32,
    /// This transfer ends the message.
    pub eom: bool,
    /// The transfer ended at the termination character asked for.
    pub term_char: bool,
}

/// Why a Bulk-IN transfer is not the answer expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer than 12 bytes.
    #[error("Bulk-IN transfer of {0} bytes is shorter than a header")]
    Short(usize),
    /// Not a `DEV_DEP_MSG_IN`.
    #[error("Bulk-IN MsgID {0} is not DEV_DEP_MSG_IN (2)")]
    MsgId(u8),
    /// The bTag is not the one of the request, or its inverse does not match.
    #[error("Bulk-IN bTag {tag} (inverse {inverse:#04x}) does not answer request bTag {expected}")]
    Tag {
        /// The bTag received.
        tag: u8,
        /// The bTagInverse received.
        inverse: u8,
        /// The request's bTag.
        expected: u8,
    },
    /// More message bytes than were asked for.
    #[error("Bulk-IN TransferSize {size} is larger than the {asked} bytes asked for")]
    TooLarge {
        /// TransferSize received.
        size: u32,
        /// What the request allowed.
        asked: u32,
    },
}

/// Check the header of the first Bulk-IN transfer that answers the request with bTag `tag`
/// for up to `asked` bytes (USBTMC 1.0, 3.3.1.1).
///
/// # Errors
///
/// [`FrameError`] if the transfer is short, not a `DEV_DEP_MSG_IN`, carries another bTag
/// or a wrong inverse, or announces more than was asked for.
///
/// # Examples
///
/// ```
/// use smq_instrument::usbtmc::{parse_dev_dep_msg_in, MsgIn};
/// let t = [2, 5, 0xFA, 0, 3, 0, 0, 0, 1, 0, 0, 0, b'1', b'.', b'5', 0];
/// assert_eq!(
///     parse_dev_dep_msg_in(5, 1024, &t),
///     Ok(MsgIn { transfer_size: 3, eom: true, term_char: false })
/// );
/// assert!(parse_dev_dep_msg_in(6, 1024, &t).is_err());
/// ```
pub fn parse_dev_dep_msg_in(tag: u8, asked: u32, transfer: &[u8]) -> Result<MsgIn, FrameError> {
    if transfer.len() < HEADER_LEN {
        return Err(FrameError::Short(transfer.len()));
    }
    if transfer[0] != REQUEST_DEV_DEP_MSG_IN {
        return Err(FrameError::MsgId(transfer[0]));
    }
    if transfer[1] != tag || transfer[2] != !tag {
        return Err(FrameError::Tag {
            tag: transfer[1],
            inverse: transfer[2],
            expected: tag,
        });
    }
    let size = u32::from_le_bytes([transfer[4], transfer[5], transfer[6], transfer[7]]);
    if size > asked {
        return Err(FrameError::TooLarge { size, asked });
    }
    Ok(MsgIn {
        transfer_size: size,
        eom: transfer[8] & 0x01 != 0,
        term_char: transfer[8] & 0x02 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_out_header_is_laid_out_as_table_3_says() {
        // bTag 0x5B, inverse 0xA4 (the specification's example of an inverse).
        let t = dev_dep_msg_out(0x5B, b"ABCDE", false);
        assert_eq!(
            t,
            [
                0x01, 0x5B, 0xA4, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, b'A', b'B',
                b'C', b'D', b'E', 0, 0, 0
            ]
        );
        // A multiple of four needs no alignment bytes; EOM in bit 0.
        let t = dev_dep_msg_out(7, b"*RST", true);
        assert_eq!(t.len(), 16);
        assert_eq!(t[8], 0x01);
    }

    #[test]
    fn request_with_a_termination_character() {
        let h = request_dev_dep_msg_in(0xFF, 0x0001_0000, Some(b'\n'));
        assert_eq!(
            h,
            [2, 0xFF, 0x00, 0, 0x00, 0x00, 0x01, 0x00, 0x02, b'\n', 0, 0]
        );
    }

    #[test]
    fn bulk_in_headers_that_do_not_answer_the_request_are_refused() {
        let ok = [2, 9, !9, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(
            parse_dev_dep_msg_in(9, 4, &ok).map(|m| (m.transfer_size, m.eom)),
            Ok((4, false))
        );
        assert_eq!(
            parse_dev_dep_msg_in(9, 4, &ok[..11]),
            Err(FrameError::Short(11))
        );
        let mut bad = ok;
        bad[0] = 1;
        assert_eq!(parse_dev_dep_msg_in(9, 4, &bad), Err(FrameError::MsgId(1)));
        let mut bad = ok;
        bad[2] = 0;
        assert!(matches!(
            parse_dev_dep_msg_in(9, 4, &bad),
            Err(FrameError::Tag { .. })
        ));
        assert!(matches!(
            parse_dev_dep_msg_in(9, 3, &ok),
            Err(FrameError::TooLarge { size: 4, asked: 3 })
        ));
    }

    #[test]
    fn tags_skip_zero_and_status_tags_stay_in_2_to_127() {
        let mut t = 250;
        let seen: Vec<u8> = (0..10)
            .map(|_| {
                t = next_tag(t);
                t
            })
            .collect();
        assert_eq!(seen, [251, 252, 253, 254, 255, 1, 2, 3, 4, 5]);
        assert_eq!(next_status_tag(0), 2);
        assert_eq!(next_status_tag(2), 3);
        assert_eq!(next_status_tag(126), 127);
    }
}
