//! Snoop channels (`POST /channels/{id}/snoop`): a channel named `Snoop/<target>-<seq>`, Up
//! at once, that enters the given app; its media leg hears the target in the `spy`
//! directions and whispers what it is sent into the `whisper` directions. It ends when
//! hung up or when its target ends; hanging it up leaves the target alone.

use media_engine::{
    command::{LegId, MediaCommand},
    snoop::SnoopDirection,
};
use serde_json::{Value, json};

use super::{
    AriError, Core, Done,
    model::{Channel, ChannelState, StasisState, Tech},
};

/// What `POST /snoop` asks for.
#[derive(Debug, Clone)]
pub struct SnoopSpec {
    /// The spied channel.
    pub target: String,
    /// App the snoop channel enters.
    pub app: String,
    /// Its `StasisStart.args` (comma-separated).
    pub app_args: Option<String>,
    /// `spy`.
    pub spy: SnoopDirection,
    /// `whisper`.
    pub whisper: SnoopDirection,
    /// The client's id for it.
    pub snoop_id: Option<String>,
}

impl Core {
    /// Creates a snoop channel; answers its snapshot once its media runs.
    pub fn snoop(&mut self, spec: SnoopSpec, done: Done<Value>) {
        let Some(target) = self.channels.get(&spec.target) else {
            return done.err(AriError::not_found("Channel not found"));
        };
        let Some(target_leg) = target.leg else {
            return done.err(AriError::conflict("Channel has no media yet"));
        };
        let caller = target.caller.clone();
        let id = spec
            .snoop_id
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| self.new_id());
        if self.channels.contains_key(&id) {
            return done.err(AriError::conflict(
                "Channel with given unique ID already exists",
            ));
        }
        let seq = self.next_seq();
        let mut c = Channel::new(
            id.clone(),
            format!("Snoop/{}-{:08x}", spec.target, seq as u32),
            ChannelState::Up,
            Tech::Snoop {
                target: spec.target.clone(),
            },
        );
        c.caller = caller;
        self.insert_channel(c);
        self.channel_event("ChannelCreated", &id, json!({}));
        let leg = LegId(self.next_seq());
        let args: Vec<String> = spec
            .app_args
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| a.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let (spy, whisper, app) = (spec.spy, spec.whisper, spec.app);
        self.media(
            |reply| MediaCommand::CreateSnoop {
                snoop: leg,
                target: target_leg,
                spy,
                whisper,
                reply,
            },
            move |core, r| match r {
                Ok(()) => {
                    let Some(c) = core.channels.get_mut(&id) else {
                        core.media(|reply| MediaCommand::Destroy { leg, reply }, |_, _| {});
                        return done.err(AriError::not_found("Channel not found"));
                    };
                    c.leg = Some(leg);
                    c.stasis = Some(StasisState {
                        app: app.clone(),
                        args: args.clone(),
                        started: false,
                    });
                    core.by_leg.insert(leg, id.clone());
                    let json = c.to_json(&core.settings.channelvars);
                    core.enter_stasis(&id, &app, args);
                    done.ok(json);
                }
                Err(e) => {
                    core.finalize(&id, 38);
                    done.err(e.into());
                }
            },
        );
    }
}
