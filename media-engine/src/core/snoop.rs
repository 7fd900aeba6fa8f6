//! Snoop legs: created on the worker of the leg they snoop on, linked to it by a
//! [`crate::snoop`] pipe.

use std::time::Instant;

use codec_transcoder::SampleRate;

use super::{MediaCore, route::working_rate};
use crate::{
    LegSockets,
    command::{LegConfig, LegId, MediaError},
    leg::Leg,
    snoop::{self, SnoopDirection},
};

impl MediaCore {
    /// Creates snoop leg `id` on leg `target`.
    pub fn create_snoop(
        &mut self,
        now: Instant,
        id: LegId,
        target: LegId,
        spy: SnoopDirection,
        whisper: SnoopDirection,
    ) -> Result<(), MediaError> {
        if self.by_id.contains_key(&id) {
            return Err(MediaError::LegExists(id));
        }
        let t = self.slot(target)?;
        let rate = self
            .leg(t)
            .params
            .as_ref()
            .map_or(SampleRate::Hz8000, |p| working_rate(p.codec, None));
        let (tap, source) = snoop::pair(spy, whisper, rate);
        let config = LegConfig {
            rtp_timeout: None,
            hold_timeout: None,
            inband_dtmf: false,
            ..LegConfig::default()
        };
        let seed = self.seed();
        let mut leg = Box::new(Leg::new(now, id, config, LegSockets::NONE, seed));
        leg.snoop = Some(Box::new(source));
        self.leg_mut(t).taps.push(tap);
        let slot = self.insert_leg(leg);
        // The target may have been relayed: it must decode and encode now.
        self.reroute_leg(t);
        self.ensure_pipelines(slot);
        Ok(())
    }

    /// Forgets the snoops on `slot` that were destroyed (it may relay again).
    pub(super) fn prune_taps(&mut self, slot: usize) {
        let leg = self.leg_mut(slot);
        let before = leg.taps.len();
        leg.taps.retain(|t| !t.is_closed());
        if leg.taps.len() != before {
            self.reroute_leg(slot);
        }
    }
}
