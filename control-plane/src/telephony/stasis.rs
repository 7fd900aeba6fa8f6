//! Stasis applications: their WebSocket connections, subscriptions and event filters, and the
//! delivery of every event to the apps that should see it (ari-compat.md §5).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

/// Completes an event for one app and serialises it: `(type, application, body)`.
pub type Envelope<'a> = dyn Fn(&str, &str, Map<String, Value>) -> String + 'a;

/// One event before it is addressed to an app.
#[derive(Debug, Clone)]
pub struct Event {
    /// ARI event type.
    pub kind: &'static str,
    /// Fields other than `type`, `application`, `timestamp` and `asterisk_id`.
    pub body: Map<String, Value>,
    /// Channels it is about (for channel subscriptions).
    pub channels: Vec<String>,
    /// Bridge it is about.
    pub bridge: Option<String>,
    /// Apps whose channels it concerns (Stasis ownership).
    pub owners: Vec<String>,
}

/// A WebSocket connection's sending half (bounded: a slow reader is cut off).
#[derive(Debug)]
pub struct Conn {
    /// Connection id.
    pub id: u64,
    /// Frames to send.
    pub tx: mpsc::Sender<String>,
}

/// An application.
#[derive(Debug, Default)]
pub struct App {
    /// Its WebSocket, when connected.
    pub conn: Option<Conn>,
    /// Subscribed to everything.
    pub subscribe_all: bool,
    /// Explicit subscriptions.
    pub channels: HashSet<String>,
    /// Explicit bridge subscriptions.
    pub bridges: HashSet<String>,
    /// Endpoint subscriptions (`tech/resource` or `tech`).
    pub endpoints: HashSet<String>,
    /// Device state subscriptions.
    pub device_names: HashSet<String>,
    /// `channel:` with no id, `bridge:`, `endpoint:`: everything of that kind.
    pub all_channels: bool,
    /// All bridges.
    pub all_bridges: bool,
    /// All endpoints.
    pub all_endpoints: bool,
    /// Bridges subscribed because one of its channels is inside (count of such channels).
    pub auto_bridges: HashMap<String, u32>,
    /// Event filter: allowed types (empty: all).
    pub allowed: Vec<Value>,
    /// Event filter: disallowed types.
    pub disallowed: Vec<Value>,
}

impl App {
    /// ARI `Application`.
    pub fn to_json(&self, name: &str, channel_ids: Vec<String>) -> Value {
        let mut bridges: Vec<&String> = self
            .bridges
            .iter()
            .chain(self.auto_bridges.keys())
            .collect();
        bridges.sort();
        bridges.dedup();
        json!({
            "name": name,
            "channel_ids": channel_ids,
            "bridge_ids": bridges,
            "endpoint_ids": self.endpoints.iter().collect::<Vec<_>>(),
            "device_names": self.device_names.iter().collect::<Vec<_>>(),
            "events_allowed": self.allowed,
            "events_disallowed": self.disallowed,
        })
    }

    fn wants(&self, name: &str, e: &Event) -> bool {
        let subscribed = e.owners.iter().any(|o| o == name)
            || self.subscribe_all
            || (self.all_channels && !e.channels.is_empty())
            || e.channels.iter().any(|c| self.channels.contains(c))
            || e.bridge.as_ref().is_some_and(|b| {
                self.all_bridges || self.bridges.contains(b) || self.auto_bridges.contains_key(b)
            });
        if !subscribed {
            return false;
        }
        let matches = |list: &[Value]| {
            list.iter()
                .any(|f| f.get("type").and_then(Value::as_str) == Some(e.kind))
        };
        (self.allowed.is_empty() || matches(&self.allowed)) && !matches(&self.disallowed)
    }
}

/// Every application.
#[derive(Debug, Default)]
pub struct Apps {
    /// By name.
    pub apps: BTreeMap<String, App>,
    next_conn: u64,
    /// Taps that receive every event as if they were `app` subscribed to all (the AMQP
    /// publisher), with their app name.
    pub taps: Vec<(String, mpsc::Sender<String>)>,
}

impl Apps {
    /// Registers a WebSocket for `names`. A connection already holding one of them gets
    /// `ApplicationReplaced` and loses it.
    pub fn register(
        &mut self,
        names: &[String],
        subscribe_all: bool,
        tx: mpsc::Sender<String>,
        envelope: &Envelope<'_>,
    ) -> u64 {
        self.next_conn += 1;
        let id = self.next_conn;
        for name in names {
            let app = self.apps.entry(name.clone()).or_default();
            if let Some(old) = app.conn.take() {
                let _ = old
                    .tx
                    .try_send(envelope("ApplicationReplaced", name, Map::new()));
            }
            app.conn = Some(Conn { id, tx: tx.clone() });
            app.subscribe_all = subscribe_all;
        }
        id
    }

    /// Drops a WebSocket's apps (the apps stay, with their subscriptions, until it returns).
    pub fn unregister(&mut self, conn: u64) {
        for app in self.apps.values_mut() {
            if app.conn.as_ref().is_some_and(|c| c.id == conn) {
                app.conn = None;
            }
        }
    }

    /// Whether an app has a live connection: an events WebSocket, or an event tap (the app
    /// served over AMQP counts as connected while AMQP is on, as with asterisk-proxy).
    pub fn connected(&self, name: &str) -> bool {
        self.apps.get(name).is_some_and(|a| a.conn.is_some())
            || self
                .taps
                .iter()
                .any(|(tap, tx)| tap == name && !tx.is_closed())
    }

    /// Names of connected apps.
    pub fn connected_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .apps
            .iter()
            .filter(|(_, a)| a.conn.is_some())
            .map(|(n, _)| n.clone())
            .chain(
                self.taps
                    .iter()
                    .filter(|(_, tx)| !tx.is_closed())
                    .map(|(n, _)| n.clone()),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The apps that would receive `e`.
    pub fn subscribers(&self, e: &Event) -> Vec<String> {
        self.apps
            .iter()
            .filter(|(name, app)| app.wants(name, e))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Sends an event to every app that should see it. `envelope` adds `type`, `timestamp`,
    /// `asterisk_id` and `application`. A connection whose queue is full is cut off.
    pub fn deliver(&mut self, e: &Event, envelope: &Envelope<'_>) {
        for (name, app) in &mut self.apps {
            let Some(conn) = &app.conn else { continue };
            if !app.wants(name, e) {
                continue;
            }
            let frame = envelope(e.kind, name, e.body.clone());
            if conn.tx.try_send(frame).is_err() {
                tracing::warn!(app = %name, "ARI WebSocket reader too slow (or gone): disconnecting it");
                app.conn = None;
            }
        }
        self.taps.retain(|(name, tx)| {
            let frame = envelope(e.kind, name, e.body.clone());
            match tx.try_send(frame) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(tap = %name, "event tap full: event dropped");
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// A channel of app `owner` entered or left a bridge: the app follows the bridge.
    pub fn follow_bridge(&mut self, owner: &str, bridge: &str, entered: bool) {
        let Some(app) = self.apps.get_mut(owner) else {
            return;
        };
        if entered {
            *app.auto_bridges.entry(bridge.to_string()).or_default() += 1;
        } else if let Some(n) = app.auto_bridges.get_mut(bridge) {
            *n -= 1;
            if *n == 0 {
                app.auto_bridges.remove(bridge);
            }
        }
    }

    /// Forgets a destroyed object in every subscription.
    pub fn forget(&mut self, channel: Option<&str>, bridge: Option<&str>) {
        for app in self.apps.values_mut() {
            if let Some(c) = channel {
                app.channels.remove(c);
            }
            if let Some(b) = bridge {
                app.bridges.remove(b);
                app.auto_bridges.remove(b);
            }
        }
    }
}
