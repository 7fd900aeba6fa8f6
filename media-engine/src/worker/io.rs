//! Batched UDP I/O: `recvmmsg(2)` and `sendmmsg(2)`. The only unsafe code of the crate: each
//! call hands the kernel arrays of `mmsghdr`/`iovec`/`sockaddr_storage` that point into
//! buffers owned by the batch and alive for the whole call.
#![allow(unsafe_code)]

use std::{
    io,
    mem::MaybeUninit,
    net::{SocketAddr, SocketAddrV4, SocketAddrV6},
    os::fd::RawFd,
};

/// Largest datagram we accept (RTP over UDP on Ethernet fits in 1500; SRTP adds 10–16).
pub(crate) const MAX_DATAGRAM: usize = 2048;

/// Receive buffers for up to `capacity` datagrams per call.
pub(crate) struct RecvBatch {
    data: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    lens: Vec<usize>,
    count: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("capacity", &self.lens.len())
            .finish()
    }
}

fn zeroed<T>() -> T {
    // SAFETY: only used for the plain C structs of this module (sockaddr_storage, iovec,
    // mmsghdr), for which all-zero bytes are a valid value.
    unsafe { MaybeUninit::<T>::zeroed().assume_init() }
}

impl RecvBatch {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            data: vec![0; capacity * MAX_DATAGRAM],
            addrs: (0..capacity).map(|_| zeroed()).collect(),
            iovecs: (0..capacity).map(|_| zeroed()).collect(),
            headers: (0..capacity).map(|_| zeroed()).collect(),
            lens: vec![0; capacity],
            count: 0,
        }
    }

    /// How many datagrams one call can return.
    pub(crate) fn capacity(&self) -> usize {
        self.lens.len()
    }

    /// Receives up to `capacity` datagrams without blocking. `Ok(0)` when none is waiting.
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let n = self.lens.len();
        let base = self.data.as_mut_ptr();
        for i in 0..n {
            self.iovecs[i] = libc::iovec {
                // SAFETY: i * MAX_DATAGRAM + MAX_DATAGRAM <= data.len() by construction.
                iov_base: unsafe { base.add(i * MAX_DATAGRAM) }.cast(),
                iov_len: MAX_DATAGRAM,
            };
            let h = &mut self.headers[i];
            h.msg_hdr.msg_name = (&raw mut self.addrs[i]).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &raw mut self.iovecs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = std::ptr::null_mut();
            h.msg_hdr.msg_controllen = 0;
            h.msg_hdr.msg_flags = 0;
            h.msg_len = 0;
        }
        // SAFETY: `headers` holds `n` initialised mmsghdr whose name/iov pointers point into
        // `addrs`, `iovecs` and `data`, all owned by `self` and not moved during the call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            self.count = 0;
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        let r = r as usize;
        for i in 0..r {
            self.lens[i] = self.headers[i].msg_len as usize;
        }
        self.count = r;
        Ok(r)
    }

    /// The `i`th datagram of the last call: source and bytes (mutable, for in-place SRTP).
    pub(crate) fn get(&mut self, i: usize) -> Option<(SocketAddr, &mut [u8])> {
        if i >= self.count {
            return None;
        }
        let from = to_socket_addr(&self.addrs[i])?;
        let start = i * MAX_DATAGRAM;
        Some((
            from,
            &mut self.data[start..start + self.lens[i].min(MAX_DATAGRAM)],
        ))
    }
}

/// Reusable arrays for one `sendmmsg` call.
pub(crate) struct SendBatch {
    addrs: Vec<libc::sockaddr_storage>,
    addr_lens: Vec<libc::socklen_t>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendBatch")
    }
}

impl SendBatch {
    pub(crate) fn new() -> Self {
        Self {
            addrs: Vec::new(),
            addr_lens: Vec::new(),
            iovecs: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sends every datagram through `fd`. Returns how many the kernel took; a full socket
    /// buffer drops the rest (UDP media is never queued behind a slow kernel).
    pub(crate) fn send<'a>(
        &mut self,
        fd: RawFd,
        datagrams: impl Iterator<Item = (SocketAddr, &'a [u8])>,
    ) -> io::Result<usize> {
        self.addrs.clear();
        self.addr_lens.clear();
        self.iovecs.clear();
        self.headers.clear();
        for (to, data) in datagrams {
            let (storage, len) = from_socket_addr(to);
            self.addrs.push(storage);
            self.addr_lens.push(len);
            self.iovecs.push(libc::iovec {
                iov_base: data.as_ptr().cast_mut().cast(),
                iov_len: data.len(),
            });
            self.headers.push(zeroed());
        }
        let n = self.headers.len();
        for i in 0..n {
            let h = &mut self.headers[i].msg_hdr;
            h.msg_name = (&raw mut self.addrs[i]).cast();
            h.msg_namelen = self.addr_lens[i];
            h.msg_iov = &raw mut self.iovecs[i];
            h.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < n {
            // SAFETY: headers[sent..n] are initialised and point into `addrs`, `iovecs` (owned
            // by self, not resized during the call) and the caller's datagrams, which outlive
            // this function. The kernel only reads the iovec data for sends.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.headers.as_mut_ptr().add(sent),
                    (n - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(sent),
                    // A destination refused (ICMP) or unreachable: skip that datagram.
                    _ if sent + 1 < n => {
                        sent += 1;
                        continue;
                    }
                    _ => return Err(e),
                }
            }
            sent += r as usize;
        }
        Ok(sent)
    }
}

fn to_socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote an AF_INET address, a sockaddr_in, into the storage,
            // which is large and aligned enough for any sockaddr.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                u32::from_be(a.sin_addr.s_addr).into(),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for AF_INET6 / sockaddr_in6.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                a.sin6_addr.s6_addr.into(),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn from_socket_addr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let mut storage: libc::sockaddr_storage = zeroed();
    let len = match a {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let sin = unsafe { &mut *std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for a sockaddr_in6.
            let sin6 =
                unsafe { &mut *std::ptr::from_mut(&mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_scope_id = v6.scope_id();
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Raises this process's soft limit of open files to its hard limit (every leg holds two
/// sockets; distributions start services with a soft limit of 1024). Returns the limit now.
pub(crate) fn raise_fd_limit() -> io::Result<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the one rlimit we pass by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut l) != 0 {
            return Err(io::Error::last_os_error());
        }
        if l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const l) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(l.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn batches_round_trip_v4_and_v6() {
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(a) = std::net::UdpSocket::bind(host) else {
                continue; // no IPv6 on this host
            };
            let b = std::net::UdpSocket::bind(host).unwrap();
            let to = b.local_addr().unwrap();
            let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
            let mut send = SendBatch::new();
            let n = send
                .send(a.as_raw_fd(), payloads.iter().map(|p| (to, p.as_slice())))
                .unwrap();
            assert_eq!(n, 5);
            let mut recv = RecvBatch::new(8);
            let mut got = Vec::new();
            for _ in 0..100 {
                let n = recv.recv(b.as_raw_fd()).unwrap();
                for i in 0..n {
                    let (from, data) = recv.get(i).unwrap();
                    assert_eq!(from, a.local_addr().unwrap());
                    got.push(data.to_vec());
                }
                if got.len() == 5 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(got, payloads);
            assert_eq!(
                recv.recv(b.as_raw_fd()).unwrap(),
                0,
                "empty socket: no error"
            );
        }
    }
}
