use crate::{Codec, SampleRate, opus::PacketError};

/// Everything that can go wrong in this crate. Bad network input is always one of these,
/// never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Opus packet breaks RFC 6716 §3.4.
    #[error("malformed Opus packet: {0}")]
    MalformedOpus(#[from] PacketError),
    /// libopus refused a call.
    #[error("libopus {function}: {reason}")]
    Opus {
        /// The libopus function.
        function: &'static str,
        /// libopus' description of the error.
        reason: &'static str,
    },
    /// A frame has a length the codec cannot take.
    #[error("{samples} samples is not a valid {codec:?} frame")]
    FrameSize {
        /// The codec.
        codec: Codec,
        /// The offered length in samples.
        samples: usize,
    },
    /// An L16 payload ends in half a sample.
    #[error("L16 payload of {0} bytes ends in half a sample")]
    TruncatedL16(usize),
    /// The codec cannot run at this rate.
    #[error("{codec:?} cannot run at {rate:?}")]
    UnsupportedRate {
        /// The codec.
        codec: Codec,
        /// The requested rate.
        rate: SampleRate,
    },
    /// The resampler could not be built or run.
    #[error("resampler {from:?} -> {to:?}: {reason}")]
    Resampler {
        /// Input rate.
        from: SampleRate,
        /// Output rate.
        to: SampleRate,
        /// What rubato said.
        reason: &'static str,
    },
}
