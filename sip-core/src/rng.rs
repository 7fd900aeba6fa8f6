//! The injected randomness of the core (STYLE.md: no OS randomness in sans-IO code):
//! xoshiro256** seeded by the shell, which draws the seed from the OS. Tags, branches,
//! Call-IDs and initial sequence numbers come from here.

/// A seedable generator (xoshiro256**).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator from a 64-bit seed (expanded with SplitMix64).
    pub fn from_seed(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `len` lower-case hex digits.
    pub fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let v = self.next_u64();
            for shift in (0..64).step_by(4) {
                if out.len() == len {
                    break;
                }
                let d = ((v >> shift) & 0xF) as u8;
                out.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed() {
        let (mut a, mut b) = (Rng::from_seed(7), Rng::from_seed(7));
        assert_eq!(a.hex(20), b.hex(20));
        assert_ne!(Rng::from_seed(8).next_u64(), Rng::from_seed(7).next_u64());
        assert_eq!(a.hex(5).len(), 5);
    }
}
