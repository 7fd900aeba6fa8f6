//! The sans-IO SIP endpoint: transactions, dialogs and the user-agent rules of RFC 3261
//! (§8, §12–§17), RFC 3262 (100rel/PRACK), RFC 3311 (UPDATE), RFC 4028 (session timers),
//! RFC 6026 (2xx handling) and digest authentication.
//!
//! The run loop is str0m's: after every call into the endpoint, drain [`poll_transmit`] and
//! [`poll_event`], then wait for the earlier of [`poll_timeout`], a datagram or a command.
//!
//! ```no_run
//! # use sip_core::endpoint::{Endpoint, EndpointConfig, Event};
//! # use std::time::Instant;
//! let mut ep = Endpoint::new(EndpointConfig::default(), 42);
//! // ep.add_listener(...); then, for each datagram:
//! // ep.handle_datagram(Instant::now(), flow, bytes);
//! while let Some(t) = ep.poll_transmit() { /* send t.data on t.flow */ }
//! while let Some(e) = ep.poll_event() { /* answer requests, react to responses */ }
//! let _next_wakeup = ep.poll_timeout();
//! ```
//!
//! [`poll_transmit`]: Endpoint::poll_transmit
//! [`poll_event`]: Endpoint::poll_event
//! [`poll_timeout`]: Endpoint::poll_timeout

mod incoming;
mod outgoing;
mod respond;
mod timers;

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;

use crate::{
    HeaderName, Method, Request, Response, StatusCode,
    arena::{Arena, Key},
    auth::Credentials,
    dialog::{Dialog, DialogKey, DialogSnapshot, DialogState, Role},
    header::{NameAddr, Transport},
    rng::Rng,
    timer::{Deadlines, TimerConfig},
    transaction::{
        ClientTransaction, Flow, ServerTransaction, TimerSlot, TransactionKey, Transmit,
    },
    uri::{Host, Uri},
    validate::UasPolicy,
};

/// RFC 4028 session timer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerConfig {
    /// Offer and honour session timers.
    pub enabled: bool,
    /// The Session-Expires we ask for, in seconds (default 1800).
    pub expires: u32,
    /// The smallest interval we accept (Min-SE), in seconds (default 90, the RFC minimum).
    pub min_se: u32,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            expires: 1800,
            min_se: 90,
        }
    }
}

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4.
    pub timers: TimerConfig,
    /// Methods, option tags and body types we serve.
    pub policy: UasPolicy,
    /// The `Server` / `User-Agent` value.
    pub user_agent: String,
    /// Larger messages are answered with 513 (RFC 3261 §21.5.14).
    pub max_message_size: usize,
    /// Answer OPTIONS ourselves with 200 (capabilities) instead of passing it on.
    pub answer_options: bool,
    /// Session timers (RFC 4028).
    pub session_timer: SessionTimerConfig,
    /// Offer 100rel in our INVITEs (RFC 3262).
    pub offer_100rel: bool,
    /// Prefix of our Via branches after the magic cookie; an incoming request carrying it has
    /// looped back to us (RFC 3261 §8.2.2.2 loop detection). It must differ between instances
    /// that call each other: `None` draws a random one.
    pub instance_tag: Option<String>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            policy: UasPolicy::default(),
            user_agent: concat!("mediaplane/", env!("CARGO_PKG_VERSION")).to_string(),
            max_message_size: 65_535,
            answer_options: true,
            session_timer: SessionTimerConfig::default(),
            offer_100rel: true,
            instance_tag: None,
        }
    }
}

/// A local address the endpoint sends and receives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Transport.
    pub transport: Transport,
    /// The bound socket address.
    pub local: SocketAddr,
    /// The address to put in Via and Contact, when it differs from `local` (NAT, 0.0.0.0).
    pub advertised: Option<(Host, u16)>,
}

/// A request we received and have not finished answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerTxId(Key);

/// A request we sent (across authentication and glare retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(Key);

/// A dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(Key);

impl DialogId {
    /// A number for logs.
    pub fn as_u64(self) -> u64 {
        self.0.as_u64()
    }
}

/// Why a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// The peer sent BYE (answered 200).
    ByeReceived(Box<Request>),
    /// We sent BYE and it completed (or failed: the dialog is over either way).
    ByeSent,
    /// Our 2xx was never ACKed within 64·T1 (RFC 3261 §13.3.1.4); we sent BYE.
    AckTimeout,
    /// Nobody refreshed the session in time (RFC 4028 §10); we sent BYE.
    SessionExpired,
    /// The dialog-creating INVITE failed, was cancelled, or timed out.
    Failed(StatusCode),
    /// An in-dialog request got 481 or 408 (RFC 3261 §12.2.1.2).
    Lost(StatusCode),
    /// No PRACK came for a reliable provisional (RFC 3262 §3); the INVITE got 5xx.
    NoPrack,
}

/// Something the transaction user must know or answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A request outside any dialog (a new INVITE, OPTIONS, REGISTER, MESSAGE...). Answer it
    /// with [`Endpoint::respond`].
    Request {
        /// Answer handle.
        tx: ServerTxId,
        /// The request (top Via stamped with `received`/`rport`).
        request: Request,
        /// Where it came from.
        flow: Flow,
    },
    /// A request inside a dialog (re-INVITE, UPDATE, INFO, REFER, NOTIFY, MESSAGE...). BYE,
    /// PRACK, CANCEL and OPTIONS are answered by the endpoint.
    DialogRequest {
        /// The dialog.
        dialog: DialogId,
        /// Answer handle.
        tx: ServerTxId,
        /// The request.
        request: Request,
    },
    /// The ACK for our 2xx (it carries the SDP answer when our 2xx held the offer).
    Ack {
        /// The dialog.
        dialog: DialogId,
        /// The ACK.
        request: Request,
    },
    /// The PRACK for one of our reliable provisional responses (answered 200 already).
    Prack {
        /// The dialog.
        dialog: DialogId,
        /// The PRACK.
        request: Request,
    },
    /// A response to a request we sent: provisional or final. A locally generated 408 stands
    /// for a timeout or a transport failure.
    Response {
        /// The request.
        request: RequestId,
        /// The (early) dialog it belongs to or created.
        dialog: Option<DialogId>,
        /// The response.
        response: Response,
    },
    /// The INVITE we were serving was cancelled: the CANCEL got 200 and the INVITE 487.
    Cancelled {
        /// The INVITE's handle.
        tx: ServerTxId,
        /// Its early dialog, if any.
        dialog: Option<DialogId>,
    },
    /// A 2xx to our INVITE arrived without an SDP offer from us: send the answer with
    /// [`Endpoint::ack`].
    AckNeeded {
        /// The dialog.
        dialog: DialogId,
    },
    /// The peer (or we) refreshed the session (RFC 4028); `remote_sdp` is the peer's new
    /// session description when the refresh carried one.
    SessionRefreshed {
        /// The dialog.
        dialog: DialogId,
        /// The peer's SDP in the refresh, if any.
        remote_sdp: Option<Bytes>,
    },
    /// The dialog is over; its id is no longer valid.
    DialogTerminated {
        /// The dialog.
        dialog: DialogId,
        /// Why.
        reason: Termination,
    },
}

/// Errors of the endpoint's commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server transaction is gone or already answered.
    #[error("unknown or finished server transaction")]
    UnknownTransaction,
    /// The request id is gone.
    #[error("unknown request")]
    UnknownRequest,
    /// The dialog id is gone.
    #[error("unknown dialog")]
    UnknownDialog,
    /// The operation does not fit the current state.
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// No listener for the transport.
    #[error("no listener for {0:?}")]
    NoListener(Transport),
    /// A reliable provisional response is still waiting for its PRACK.
    #[error("a reliable provisional response is still unacknowledged")]
    ProvisionalPending,
    /// A snapshot or argument is malformed.
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
}

/// How the transaction user answers a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseSpec {
    /// Status code (default 200).
    pub status: Option<StatusCode>,
    /// Reason phrase (default: the RFC 3261 one).
    pub reason: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, Bytes)>,
    /// Body and its Content-Type.
    pub body: Option<(String, Bytes)>,
    /// Send a 1xx reliably (RFC 3262), if the peer supports 100rel.
    pub reliable: bool,
}

impl ResponseSpec {
    /// A response with `status`.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// With a reason phrase.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// With a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<Bytes>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// With a body.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.to_string(), body.into()));
        self
    }

    /// With an SDP body.
    pub fn sdp(self, sdp: impl Into<Bytes>) -> Self {
        self.body("application/sdp", sdp)
    }

    /// Sent reliably (100rel) when the peer supports it.
    pub fn reliable(mut self) -> Self {
        self.reliable = true;
        self
    }
}

/// A new INVITE (a dialog-creating request).
#[derive(Debug, Clone)]
pub struct InviteSpec {
    /// Request-URI.
    pub uri: Uri,
    /// From (a tag is added unless `from_tag` is given).
    pub from: NameAddr,
    /// To (no tag).
    pub to: NameAddr,
    /// Call-ID to use (session recovery); generated when `None`.
    pub call_id: Option<Bytes>,
    /// From tag to use; generated when `None`.
    pub from_tag: Option<Bytes>,
    /// Route headers (an outbound proxy: `<sip:proxy;lr>`).
    pub route: Vec<Bytes>,
    /// Extra headers (X-/VB- headers, P-Asserted-Identity, Privacy...).
    pub headers: Vec<(HeaderName, Bytes)>,
    /// SDP offer (absent: delayed offer).
    pub sdp: Option<Bytes>,
    /// Transport and address of the next hop.
    pub next_hop: (Transport, SocketAddr),
    /// Credentials for a 401/407 challenge.
    pub credentials: Option<Credentials>,
}

/// A request inside a dialog, or outside one ([`Endpoint::request_outside`]).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Method.
    pub method: Method,
    /// Extra headers.
    pub headers: Vec<(HeaderName, Bytes)>,
    /// Body and its Content-Type.
    pub body: Option<(String, Bytes)>,
    /// Credentials for a 401/407 challenge.
    pub credentials: Option<Credentials>,
}

impl RequestSpec {
    /// A request with no extra headers or body.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            headers: Vec::new(),
            body: None,
            credentials: None,
        }
    }

    /// With a header.
    pub fn header(mut self, name: HeaderName, value: impl Into<Bytes>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// With a body.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.to_string(), body.into()));
        self
    }
}

/// A quick look at a dialog, for the transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    /// Call-ID.
    pub call_id: Bytes,
    /// Our tag.
    pub local_tag: Bytes,
    /// The peer's tag.
    pub remote_tag: Bytes,
    /// Our role.
    pub role: Role,
    /// Early or confirmed.
    pub state: DialogState,
    /// The peer's Contact.
    pub remote_target: Uri,
    /// The peer's address.
    pub remote_addr: SocketAddr,
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live server transactions.
    pub server_transactions: usize,
    /// Live client transactions.
    pub client_transactions: usize,
    /// Live dialogs.
    pub dialogs: usize,
    /// Messages that could not be parsed.
    pub parse_errors: u64,
    /// Requests answered with 4xx–6xx by the endpoint itself.
    pub rejected: u64,
}

// ---- internal state ------------------------------------------------------------------------

/// What a queued deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerRef {
    Client(Key, TimerSlot),
    Server(Key, TimerSlot),
    Dialog(Key, DialogTimer),
    Request(Key),
}

/// Dialog-level timers (the transaction user's duties the endpoint carries out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DialogTimer {
    /// Resend our 2xx until ACKed (§13.3.1.4).
    Retransmit2xx = 0,
    /// Resend our reliable provisional until PRACKed (RFC 3262 §3).
    RetransmitReliable = 1,
    /// Session refresh or expiry (RFC 4028 §10).
    Session = 2,
}

#[derive(Debug)]
struct ServerEntry {
    tx: ServerTransaction,
    key: TransactionKey,
    dialog: Option<Key>,
    /// Our To tag for responses (dialog-creating requests get one).
    to_tag: Option<Bytes>,
    /// The merged-request index entry (§8.2.2.2), removed with the transaction.
    merge: Option<MergeKey>,
}

#[derive(Debug)]
struct ClientEntry {
    tx: ClientTransaction,
    key: TransactionKey,
    owner: Key,
}

/// Why we sent a request ourselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The transaction user asked for it: its responses are events.
    User,
    /// A CANCEL; its response is absorbed.
    Cancel,
    /// A PRACK for a reliable provisional.
    Prack,
    /// A BYE the endpoint sent (ACK timeout, session expiry, extra fork, cancelled 2xx).
    InternalBye,
    /// A session refresh (RFC 4028).
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelState {
    None,
    /// Asked before any provisional arrived: sent when one does (§9.1).
    Pending,
    Sent,
}

#[derive(Debug)]
struct Outgoing {
    method: Method,
    purpose: Purpose,
    /// The current client transaction.
    tx: Option<Key>,
    /// The request as first built, without Via (for retries).
    template: Request,
    next_hop: Flow,
    /// The dialog the request is in (in-dialog requests) or the confirmed dialog it created.
    dialog: Option<Key>,
    /// Early dialogs created by provisional responses to an initial INVITE.
    early: Vec<Key>,
    credentials: Option<Credentials>,
    auth_tries: u8,
    cancel: CancelState,
    /// The request carried an SDP offer (so the ACK of a 2xx carries nothing).
    offer_sent: bool,
    glare_retries: u8,
    /// A glare retry is scheduled for this instant (RFC 3261 §14.1).
    retry_at: Option<Instant>,
}

#[derive(Debug)]
struct Pending2xx {
    wire: Bytes,
    flow: Flow,
    cseq: u32,
    interval: Duration,
    give_up: Instant,
}

#[derive(Debug)]
struct ReliableProvisional {
    rseq: u32,
    cseq: u32,
    wire: Bytes,
    flow: Flow,
    interval: Duration,
    give_up: Instant,
    server_tx: Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresher {
    Us,
    Them,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    interval: u32,
    refresher: Refresher,
}

#[derive(Debug)]
struct DialogEntry {
    d: Dialog,
    /// The outgoing request that created this dialog (UAC), to find forks.
    creator: Option<Key>,
    /// The INVITE server transaction waiting for our final response (initial or re-INVITE).
    invite_tx: Option<Key>,
    /// Our 2xx being retransmitted until ACKed.
    pending_2xx: Option<Pending2xx>,
    /// The ACK we sent for the peer's 2xx (UAC): CSeq and wire bytes.
    last_ack: Option<(u32, Bytes)>,
    /// CSeq of a 2xx waiting for the transaction user's ACK (delayed offer).
    ack_owed: Option<u32>,
    /// Our re-INVITE (or UPDATE with offer) in progress, for glare (§14.1).
    outgoing_offer: Option<Key>,
    /// A reliable provisional waiting for PRACK.
    reliable: Option<ReliableProvisional>,
    next_rseq: u32,
    /// RSeq values we already PRACKed (UAC).
    pracked: Vec<u32>,
    /// The peer supports 100rel / timer / UPDATE.
    peer_100rel: bool,
    peer_timer: bool,
    peer_update: bool,
    session: Option<Session>,
    /// Our last SDP in this dialog (for refresh re-INVITEs).
    local_sdp: Option<Bytes>,
    timers: [Option<Instant>; 3],
    /// A BYE is on its way; the dialog is going away.
    closing: bool,
}

/// The merged-request key of §8.2.2.2: From tag, Call-ID, CSeq.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MergeKey {
    from_tag: Bytes,
    call_id: Bytes,
    cseq: u32,
    method: Method,
}

/// The SIP endpoint. See the module documentation for the run loop.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: Rng,
    listeners: Vec<Listener>,
    servers: Arena<ServerEntry>,
    server_index: HashMap<TransactionKey, Key>,
    merge_index: HashMap<MergeKey, Key>,
    clients: Arena<ClientEntry>,
    client_index: HashMap<TransactionKey, Key>,
    requests: Arena<Outgoing>,
    dialogs: Arena<DialogEntry>,
    dialog_index: HashMap<DialogKey, Key>,
    deadlines: Deadlines<TimerRef>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
}

impl Endpoint {
    /// A new endpoint; `seed` feeds its tag, branch and Call-ID generator (draw it from the
    /// OS in production, fix it in tests).
    pub fn new(mut config: EndpointConfig, seed: u64) -> Self {
        let mut rng = Rng::from_seed(seed);
        if config.instance_tag.is_none() {
            config.instance_tag = Some(format!("mp{}", rng.hex(6)));
        }
        Self {
            config,
            rng,
            listeners: Vec::new(),
            servers: Arena::default(),
            server_index: HashMap::new(),
            merge_index: HashMap::new(),
            clients: Arena::default(),
            client_index: HashMap::new(),
            requests: Arena::default(),
            dialogs: Arena::default(),
            dialog_index: HashMap::new(),
            deadlines: Deadlines::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Adds a local address to send and receive on.
    pub fn add_listener(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the transaction user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.next()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        Stats {
            server_transactions: self.servers.len(),
            client_transactions: self.clients.len(),
            dialogs: self.dialogs.len(),
            ..self.stats
        }
    }

    /// A look at a dialog.
    pub fn dialog_info(&self, dialog: DialogId) -> Option<DialogInfo> {
        let e = self.dialogs.get(dialog.0)?;
        Some(DialogInfo {
            call_id: e.d.key.call_id.clone(),
            local_tag: e.d.key.local_tag.clone(),
            remote_tag: e.d.key.remote_tag.clone(),
            role: e.d.role,
            state: e.d.state,
            remote_target: e.d.remote_target.clone(),
            remote_addr: e.d.flow.remote,
        })
    }

    /// The snapshot another process can continue the dialog from.
    pub fn dialog_snapshot(&self, dialog: DialogId) -> Option<DialogSnapshot> {
        self.dialogs.get(dialog.0).map(|e| e.d.snapshot())
    }

    /// Rebuilds a confirmed dialog from a snapshot (session recovery). The next request sent
    /// in it (typically a re-INVITE with a new SDP) continues the CSeq space and goes to
    /// `next_hop` (or the snapshot's one).
    pub fn restore_dialog(
        &mut self,
        snapshot: &DialogSnapshot,
        next_hop: Option<SocketAddr>,
    ) -> Result<DialogId, Error> {
        let transport = Transport::from_bytes(snapshot.transport.as_bytes());
        let remote = next_hop
            .or(snapshot.next_hop)
            .ok_or(Error::Invalid("no next hop for the restored dialog"))?;
        let local = self
            .listener_for(&transport, remote)
            .ok_or_else(|| Error::NoListener(transport.clone()))?
            .local;
        let flow = Flow {
            transport,
            local,
            remote,
            connection: None,
        };
        let d = Dialog::from_snapshot(snapshot, flow).map_err(Error::Invalid)?;
        if self.dialog_index.contains_key(&d.key) {
            return Err(Error::Invalid("a dialog with this Call-ID and tags exists"));
        }
        let key = d.key.clone();
        let id = self.dialogs.insert(DialogEntry::new(d, None));
        self.dialog_index.insert(key, id);
        Ok(DialogId(id))
    }

    fn listener_for(&self, transport: &Transport, remote: SocketAddr) -> Option<&Listener> {
        self.listeners
            .iter()
            .filter(|l| &l.transport == transport)
            .find(|l| l.local.is_ipv4() == remote.is_ipv4())
            .or_else(|| self.listeners.iter().find(|l| &l.transport == transport))
    }

    fn schedule(&mut self, at: Instant, what: TimerRef) {
        self.deadlines.push(at, what);
    }

    fn transmit(&mut self, flow: Flow, data: Bytes) {
        self.transmits.push_back(Transmit { flow, data });
    }

    fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    fn new_tag(&mut self) -> Bytes {
        Bytes::from(self.rng.hex(16))
    }

    fn new_branch(&mut self) -> Bytes {
        let tag = self.config.instance_tag.as_deref().unwrap_or("mp");
        Bytes::from(format!("z9hG4bK{tag}-{}", self.rng.hex(16)))
    }
}

impl DialogEntry {
    fn new(d: Dialog, creator: Option<Key>) -> Self {
        Self {
            d,
            creator,
            invite_tx: None,
            pending_2xx: None,
            last_ack: None,
            ack_owed: None,
            outgoing_offer: None,
            reliable: None,
            next_rseq: 1,
            pracked: Vec::new(),
            peer_100rel: false,
            peer_timer: false,
            peer_update: false,
            session: None,
            local_sdp: None,
            timers: [None; 3],
            closing: false,
        }
    }
}

/// The Via sent-by of a listener.
fn sent_by(l: &Listener) -> (Host, u16) {
    l.advertised
        .clone()
        .unwrap_or_else(|| (Host::from(l.local.ip()), l.local.port()))
}

/// Whether a request is the kind that refreshes the remote target (§12.2).
fn is_target_refresh(m: &Method) -> bool {
    matches!(
        m,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

/// The value of a response's or request's SDP body, if it has one.
fn sdp_of(headers: &crate::Headers, body: &Bytes) -> Option<Bytes> {
    (!body.is_empty()
        && headers
            .content_type()
            .is_some_and(|ct| ct == "application/sdp"))
    .then(|| body.clone())
}
