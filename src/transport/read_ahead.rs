//! A socket reader that takes what the kernel holds in one read, and holds no buffer when idle.
//!
//! tungstenite reads at most its read buffer's size per call, and that buffer is kept small
//! (`ws::socket_config`) because every idle connection keeps it resident. A busy connection
//! then costs a `recvfrom` per 192 bytes: about one per chat message, a fifth of the hub's CPU
//! per message at saturation. Here each read from the socket takes up to `READ_AHEAD` bytes
//! into a buffer on the stack; what the caller had no room for is kept on the heap only until
//! it is read, so an idle connection holds nothing but an empty `Vec`.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes taken from the socket per read, at most: a few dozen chat frames.
pub const READ_AHEAD: usize = 4096;

pub struct ReadAhead<S> {
    inner: S,
    /// Read from the socket, not yet by the caller: `ahead[taken..]`. Empty and unallocated
    /// when all of it was taken.
    ahead: Vec<u8>,
    taken: usize,
}

impl<S> ReadAhead<S> {
    pub fn new(inner: S) -> ReadAhead<S> {
        ReadAhead {
            inner,
            ahead: Vec::new(),
            taken: 0,
        }
    }

    /// Hands the caller what is held; frees the buffer once it is all taken.
    fn give(&mut self, buf: &mut ReadBuf<'_>) {
        let held = &self.ahead[self.taken..];
        let n = held.len().min(buf.remaining());
        buf.put_slice(&held[..n]);
        self.taken += n;
        if self.taken == self.ahead.len() {
            self.ahead = Vec::new();
            self.taken = 0;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.taken < this.ahead.len() {
            // A read from the buffer costs the task the budget a socket read would: without
            // it, one busy connection's task would run through thousands of frames before any
            // other task ran (tokio counts only the socket's reads), and the other member of
            // its session would fall that far behind.
            let coop = ready!(tokio::task::coop::poll_proceed(cx));
            coop.made_progress();
            this.give(buf);
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_AHEAD];
        let mut chunk = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
        let read = chunk.filled();
        let n = read.len().min(buf.remaining());
        buf.put_slice(&read[..n]);
        if n < read.len() {
            this.ahead = read[n..].to_vec();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_get_every_byte_in_order() {
        let (mut writer, reader) = tokio::io::duplex(64 * 1024);
        let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        writer.write_all(&sent).await.expect("write");
        drop(writer);
        let mut reader = ReadAhead::new(reader);
        let mut got = Vec::new();
        let mut small = [0u8; 192];
        loop {
            let n = reader.read(&mut small).await.expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
            // What one socket read took beyond the caller's room is held, never more.
            assert!(reader.ahead.len() <= READ_AHEAD);
        }
        assert_eq!(got, sent);
        assert!(reader.ahead.is_empty() && reader.ahead.capacity() == 0);
    }

    #[tokio::test]
    async fn a_drained_reader_holds_no_buffer() {
        let (mut writer, reader) = tokio::io::duplex(1024);
        writer.write_all(&[7u8; 500]).await.expect("write");
        let mut reader = ReadAhead::new(reader);
        let mut small = [0u8; 192];
        assert_eq!(reader.read(&mut small).await.expect("read"), 192);
        assert_eq!(reader.ahead.len() - reader.taken, 308);
        assert_eq!(reader.read(&mut small).await.expect("read"), 192);
        assert_eq!(reader.read(&mut small).await.expect("read"), 116);
        assert_eq!(reader.ahead.capacity(), 0);
        writer.write_all(b"next").await.expect("write");
        assert_eq!(reader.read(&mut small).await.expect("read"), 4);
        assert_eq!(&small[..4], b"next");
        assert_eq!(reader.ahead.capacity(), 0);
    }

    #[tokio::test]
    async fn reads_from_the_buffer_spend_the_task_budget() {
        let (mut writer, reader) = tokio::io::duplex(64 * 1024);
        writer.write_all(&[1u8; READ_AHEAD]).await.expect("write");
        let mut reader = ReadAhead::new(reader);
        let mut byte = [0u8; 1];
        // One socket read fills the buffer; the rest come from it, a byte at a time.
        let mut reads = 0;
        while tokio::task::coop::has_budget_remaining() && reads < READ_AHEAD - 1 {
            assert_eq!(reader.read(&mut byte).await.expect("read"), 1);
            reads += 1;
        }
        // tokio's budget is 128 a turn: a task reading buffered frames yields as often as one
        // reading the socket would, instead of running through the whole buffer.
        assert!(reads < 256, "{reads} reads without spending the budget");
    }

    #[tokio::test]
    async fn writes_pass_through() {
        let (writer, mut peer) = tokio::io::duplex(1024);
        let mut writer = ReadAhead::new(writer);
        writer.write_all(b"hello").await.expect("write");
        writer.flush().await.expect("flush");
        let mut got = [0u8; 5];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello");
    }
}
