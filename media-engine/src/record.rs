//! Recording: a media worker pushes PCM into a [`RecordingSink`] (a lock-free ring buffer, no
//! disk I/O, never blocking); a writer thread of the recording's own drains it into a WAV file
//! and finalises the header when the sink is dropped.

use std::{
    fs::File,
    io::{BufWriter, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use codec_transcoder::{SampleRate, g711};
use ringbuf::{
    HeapCons, HeapProd, HeapRb,
    traits::{Consumer, Observer, Producer, Split},
};

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// WAV, 16-bit PCM at the recording's rate.
    Wav,
    /// WAV, G.711 µ-law at 8 kHz (the sink must run at 8 kHz).
    WavUlaw,
    /// Raw 16-bit little-endian PCM (Asterisk `sln*`).
    Sln,
    /// Raw G.711 µ-law at 8 kHz (Asterisk `ulaw`).
    Ulaw,
}

/// What a finished recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Samples written.
    pub samples: u64,
    /// Their duration.
    pub duration: Duration,
    /// Samples lost because the writer fell behind (the ring was full).
    pub overrun: u64,
}

#[derive(Debug, Default)]
struct Shared {
    closed: AtomicBool,
    overrun: AtomicU64,
}

/// The media worker's end of a recording.
pub struct RecordingSink {
    prod: HeapProd<i16>,
    shared: Arc<Shared>,
    rate: SampleRate,
    thread: Option<std::thread::Thread>,
}

impl std::fmt::Debug for RecordingSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSink")
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl RecordingSink {
    /// The rate the writer expects.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Queues samples; what does not fit is counted as overrun, never waited for.
    pub fn push(&mut self, pcm: &[i16]) {
        let n = self.prod.push_slice(pcm);
        if n < pcm.len() {
            self.shared
                .overrun
                .fetch_add((pcm.len() - n) as u64, Ordering::Relaxed);
        }
    }
}

impl Drop for RecordingSink {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.unpark();
        }
    }
}

/// The writer thread of one recording.
#[derive(Debug)]
pub struct RecordingWriter {
    handle: JoinHandle<std::io::Result<RecordingSummary>>,
    path: PathBuf,
}

impl RecordingWriter {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the sink to be dropped and the file to be complete.
    pub fn join(self) -> std::io::Result<RecordingSummary> {
        self.handle
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("recording writer panicked")))
    }
}

/// Creates the file and starts its writer. The ring holds `buffer` of audio.
pub fn start_recording(
    path: &Path,
    rate: SampleRate,
    format: RecordFormat,
    buffer: Duration,
) -> std::io::Result<(RecordingSink, RecordingWriter)> {
    start(path, rate, format, buffer, false)
}

/// Like [`start_recording`], but appends to an existing file of the same format (ARI
/// `ifExists=append`); a missing file is created.
pub fn start_recording_appending(
    path: &Path,
    rate: SampleRate,
    format: RecordFormat,
    buffer: Duration,
) -> std::io::Result<(RecordingSink, RecordingWriter)> {
    start(path, rate, format, buffer, true)
}

fn start(
    path: &Path,
    rate: SampleRate,
    format: RecordFormat,
    buffer: Duration,
    append: bool,
) -> std::io::Result<(RecordingSink, RecordingWriter)> {
    if matches!(format, RecordFormat::WavUlaw | RecordFormat::Ulaw) && rate != SampleRate::Hz8000 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "µ-law recordings are 8 kHz",
        ));
    }
    let wav = matches!(format, RecordFormat::Wav | RecordFormat::WavUlaw);
    // Bytes of audio already there when appending (a WAV's data chunk must match our format).
    let existing = if append && path.exists() {
        let bytes = std::fs::read(path)?;
        if wav {
            let bad = |m| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
            let pcm = crate::playback::decode_wav(&bytes).map_err(|_| bad("not a WAV file"))?;
            let tag = u16::from_le_bytes([bytes[20], bytes[21]]);
            let ours = if format == RecordFormat::WavUlaw {
                7
            } else {
                1
            };
            if pcm.rate != rate || tag != ours || bytes.len() < 44 {
                return Err(bad("the existing file has another format"));
            }
            (bytes.len() - 44) as u64
        } else {
            bytes.len() as u64
        }
    } else {
        0
    };
    let file = if existing > 0 {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        f.seek(SeekFrom::End(0))?;
        f
    } else {
        File::create(path)?
    };
    let capacity = rate.samples_in_ms(buffer.as_millis().clamp(100, 60_000) as u32);
    let (prod, cons) = HeapRb::<i16>::new(capacity).split();
    let shared = Arc::new(Shared::default());
    let writer_shared = Arc::clone(&shared);
    let handle = std::thread::Builder::new()
        .name("mp-record".into())
        .spawn(move || write_loop(file, cons, &writer_shared, rate, format, existing))?;
    let thread = Some(handle.thread().clone());
    Ok((
        RecordingSink {
            prod,
            shared,
            rate,
            thread,
        },
        RecordingWriter {
            handle,
            path: path.to_path_buf(),
        },
    ))
}

fn write_loop(
    file: File,
    mut cons: HeapCons<i16>,
    shared: &Shared,
    rate: SampleRate,
    format: RecordFormat,
    existing: u64,
) -> std::io::Result<RecordingSummary> {
    let mut out = BufWriter::with_capacity(64 * 1024, file);
    let wav = matches!(format, RecordFormat::Wav | RecordFormat::WavUlaw);
    if wav && existing == 0 {
        write_wav_header(&mut out, rate, format, 0)?;
    }
    let mut buf = vec![0i16; 4096];
    let mut bytes = Vec::with_capacity(8192);
    let mut samples = 0u64;
    loop {
        // Read `closed` before draining so nothing pushed before the close is missed.
        let closed = shared.closed.load(Ordering::Acquire);
        loop {
            let n = cons.pop_slice(&mut buf);
            if n == 0 {
                break;
            }
            bytes.clear();
            match format {
                RecordFormat::WavUlaw | RecordFormat::Ulaw => {
                    bytes.resize(n, 0);
                    g711::encode_ulaw(&buf[..n], &mut bytes);
                }
                _ => bytes.extend(buf[..n].iter().flat_map(|s| s.to_le_bytes())),
            }
            out.write_all(&bytes)?;
            samples += n as u64;
        }
        if closed && cons.is_empty() {
            break;
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let data_len = existing
        + match format {
            RecordFormat::WavUlaw | RecordFormat::Ulaw => samples,
            _ => samples * 2,
        };
    if wav {
        out.seek(SeekFrom::Start(0))?;
        write_wav_header(&mut out, rate, format, data_len)?;
    }
    out.flush()?;
    out.get_ref().sync_data()?;
    Ok(RecordingSummary {
        samples,
        duration: Duration::from_micros(samples * 1_000_000 / u64::from(rate.hz())),
        overrun: shared.overrun.load(Ordering::Relaxed),
    })
}

fn write_wav_header(
    out: &mut impl Write,
    rate: SampleRate,
    format: RecordFormat,
    data_len: u64,
) -> std::io::Result<()> {
    let (tag, bits): (u16, u16) = match format {
        RecordFormat::WavUlaw => (7, 8),
        _ => (1, 16),
    };
    let data_len = data_len.min(u64::from(u32::MAX - 36)) as u32;
    let block = bits / 8;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&rate.hz().to_le_bytes());
    h.extend_from_slice(&(rate.hz() * u32::from(block)).to_le_bytes());
    h.extend_from_slice(&block.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    out.write_all(&h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::decode_wav;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mp-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn writes_a_wav_that_reads_back() {
        let path = temp("a.wav");
        let (mut sink, writer) = start_recording(
            &path,
            SampleRate::Hz16000,
            RecordFormat::Wav,
            Duration::from_secs(2),
        )
        .unwrap();
        let frame: Vec<i16> = (0..320).map(|i| (i * 37 % 2000) as i16 - 1000).collect();
        for _ in 0..100 {
            sink.push(&frame);
        }
        drop(sink);
        let summary = writer.join().unwrap();
        assert_eq!(summary.samples, 32_000);
        assert_eq!(summary.duration, Duration::from_secs(2));
        assert_eq!(summary.overrun, 0);
        let pcm = decode_wav(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(pcm.rate, SampleRate::Hz16000);
        assert_eq!(pcm.samples.len(), 32_000);
        assert_eq!(&pcm.samples[320..640], &frame[..]);
    }

    #[test]
    fn appends_to_an_existing_wav() {
        let path = temp("c.wav");
        for _ in 0..2 {
            let (mut sink, writer) = start_recording_appending(
                &path,
                SampleRate::Hz8000,
                RecordFormat::Wav,
                Duration::from_secs(1),
            )
            .unwrap();
            sink.push(&[100; 800]);
            drop(sink);
            writer.join().unwrap();
        }
        let pcm = decode_wav(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(pcm.samples.len(), 1600);
        assert!(
            start_recording_appending(
                &path,
                SampleRate::Hz16000,
                RecordFormat::Wav,
                Duration::ZERO
            )
            .is_err()
        );
    }

    #[test]
    fn overrun_is_counted_not_waited_for() {
        let path = temp("b.ulaw.wav");
        let (mut sink, writer) = start_recording(
            &path,
            SampleRate::Hz8000,
            RecordFormat::WavUlaw,
            Duration::from_millis(100),
        )
        .unwrap();
        // 10 s pushed at once into a 100 ms ring.
        sink.push(&vec![500i16; 80_000]);
        drop(sink);
        let s = writer.join().unwrap();
        assert_eq!(s.samples + s.overrun, 80_000);
        assert!(s.overrun >= 79_000);
        let pcm = decode_wav(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(pcm.samples.len() as u64, s.samples);
        assert!(
            start_recording(
                &path,
                SampleRate::Hz16000,
                RecordFormat::WavUlaw,
                Duration::ZERO
            )
            .is_err()
        );
    }
}
