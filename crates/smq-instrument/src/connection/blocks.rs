//! IEEE 488.2 binary block transfers.

use std::time::Instant;

use ndarray::Array1;

use crate::block::{
    BlockElement, BlockError, BlockHeader, ByteOrder, decode_array, parse_block_header,
};
use crate::error::Result;

use super::Connection;

impl Connection {
    /// Read one IEEE 488.2 binary block (definite `#<n><len><data>` or
    /// indefinite `#0<data>\n`) and return its payload.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("scope", sim.tcp_addr())?;
    /// conn.write(":WAV:DATA?")?;
    /// assert_eq!(conn.read_block(":WAV:DATA?")?.len(), 1200);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn read_block(&mut self, command: &str) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.timeout;
        self.guarded(|c| c.read_block_until(command, deadline))
    }

    fn read_block_until(&mut self, command: &str, deadline: Instant) -> Result<Vec<u8>> {
        loop {
            // Leading whitespace (a stray terminator) is skipped.
            let ws = self
                .rx
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.rx.drain(..ws);
            match parse_block_header(&self.rx) {
                Ok(BlockHeader::Definite { header_len, len }) => {
                    let end = header_len.saturating_add(len);
                    while self.rx.len() < end {
                        self.fill(command, deadline)?;
                    }
                    let payload = self.rx[header_len..end].to_vec();
                    self.rx.drain(..end);
                    if self.rx.starts_with(&self.read_term) {
                        self.rx.drain(..self.read_term.len());
                    } else if self.read_term.starts_with(&self.rx) {
                        // The terminator (or part of it) is still on its
                        // way: drop it when it arrives.
                        self.skip_term = true;
                    }
                    return Ok(payload);
                }
                Ok(BlockHeader::Indefinite) => {
                    let line = self.read_line_until(command, deadline)?;
                    // The line starts with the `#0` header.
                    return Ok(line.get(2..).map(<[u8]>::to_vec).unwrap_or_default());
                }
                Err(BlockError::Incomplete { .. }) => self.fill(command, deadline)?,
                Err(e) => {
                    // Consume the rest of the bad reply so the next exchange
                    // starts clean.
                    let mut bad = self
                        .read_line_until(command, deadline)
                        .unwrap_or_else(|_| std::mem::take(&mut self.rx));
                    bad.truncate(64);
                    return Err(self.garbage(command, &bad, e.to_string()));
                }
            }
        }
    }

    /// Send `command` and read a binary block reply.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("scope", sim.tcp_addr())?;
    /// let codes = conn.query_block(":WAV:DATA?")?;
    /// assert_eq!(codes.len(), 1200);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn query_block(&mut self, command: &str) -> Result<Vec<u8>> {
        self.write(command)?;
        self.read_block(command)
    }

    /// Send `command`, read a binary block and decode it into samples of
    /// type `T` in byte order `order`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let sim = smq_sim::SimInstrument::start(smq_sim::ScopeModel::standalone(1)).unwrap();
    /// let mut conn = smq_instrument::Connection::tcp("scope", sim.tcp_addr())?;
    /// use smq_instrument::ByteOrder;
    /// conn.write(":WAV:FORM WORD")?;
    /// let codes = conn.query_array::<u16>(":WAV:DATA?", ByteOrder::Little)?;
    /// assert_eq!(codes.len(), 1200);
    /// # Ok::<(), smq_instrument::InstrumentError>(())
    /// ```
    pub fn query_array<T: BlockElement>(
        &mut self,
        command: &str,
        order: ByteOrder,
    ) -> Result<Array1<T>> {
        let payload = self.query_block(command)?;
        decode_array(&payload, order)
            .map_err(|e| self.garbage(command, &payload[..payload.len().min(64)], e.to_string()))
    }
}
