//! `/proxy/recording_file_move` (voipbin-contract.md §1.4): after `RecordingFinished`,
//! call-manager asks for the recording files to leave the media server. asterisk-proxy uploads
//! them to a bucket and deletes them; mediaplane moves them into the configured store
//! directory (a mounted volume or an object-store sync directory).
//!
//! Every name is checked before anything moves: a plain file name, no path. Then each file is
//! renamed (or copied and removed across file systems).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::envelope;

/// Where recordings are and where they go.
#[derive(Debug, Clone)]
pub struct Store {
    recordings: PathBuf,
    target: PathBuf,
}

#[derive(Deserialize)]
struct MoveRequest {
    filenames: Vec<String>,
}

impl Store {
    /// Recordings in `recordings` move to `target`.
    pub fn new(recordings: PathBuf, target: PathBuf) -> Self {
        Self { recordings, target }
    }

    /// Moves the files named in `{"filenames": [...]}`; returns the status and the reply.
    pub async fn move_files(&self, body: &[u8]) -> (u16, Vec<u8>) {
        let req: MoveRequest = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => {
                let m = format!("expected {{\"filenames\": [...]}}: {e}");
                return (400, envelope::error_reply(400, &m));
            }
        };
        if let Some(bad) = req.filenames.iter().find(|n| !plain_name(n)) {
            let m = format!("{bad:?} is not a plain file name");
            return (400, envelope::error_reply(400, &m));
        }
        let (from, to) = (self.recordings.clone(), self.target.clone());
        let result =
            tokio::task::spawn_blocking(move || move_all(&from, &to, &req.filenames)).await;
        match result {
            Ok(Ok(())) => (200, envelope::simple_reply(200)),
            Ok(Err((status, m))) => (status, envelope::error_reply(status, &m)),
            Err(e) => (500, envelope::error_reply(500, &e.to_string())),
        }
    }
}

fn plain_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 255 && n != "." && n != ".." && !n.contains(['/', '\\', '\0'])
}

fn move_all(from: &Path, to: &Path, names: &[String]) -> Result<(), (u16, String)> {
    if let Some(missing) = names.iter().find(|n| !from.join(n).is_file()) {
        return Err((404, format!("no recording file {missing:?}")));
    }
    std::fs::create_dir_all(to).map_err(|e| (500, format!("{}: {e}", to.display())))?;
    for n in names {
        let (src, dst) = (from.join(n), to.join(n));
        if std::fs::rename(&src, &dst).is_err() {
            std::fs::copy(&src, &dst)
                .and_then(|_| std::fs::remove_file(&src))
                .map_err(|e| (500, format!("moving {n:?}: {e}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(plain_name("abc_in.wav"));
        for bad in ["", ".", "..", "../x.wav", "a/b.wav", "a\\b", "x\0"] {
            assert!(!plain_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn moves_and_refuses() {
        let dir = std::env::temp_dir().join(format!("mp-store-{}", std::process::id()));
        let (rec, out) = (dir.join("rec"), dir.join("out"));
        std::fs::create_dir_all(&rec).expect("dir");
        std::fs::write(rec.join("r_in.wav"), b"RIFF").expect("write");
        std::fs::write(rec.join("r_out.wav"), b"RIFF").expect("write");
        let store = Store::new(rec.clone(), out.clone());
        let (status, _) = store
            .move_files(br#"{"filenames":["r_in.wav","../etc/passwd"]}"#)
            .await;
        assert_eq!(status, 400);
        assert!(
            rec.join("r_in.wav").exists(),
            "nothing moves on a bad request"
        );
        let (status, _) = store
            .move_files(br#"{"filenames":["r_in.wav","gone.wav"]}"#)
            .await;
        assert_eq!(status, 404);
        let (status, reply) = store
            .move_files(br#"{"filenames":["r_in.wav","r_out.wav"]}"#)
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
        assert!(out.join("r_in.wav").exists() && out.join("r_out.wav").exists());
        assert!(!rec.join("r_in.wav").exists());
        let (status, _) = store.move_files(b"{}").await;
        assert_eq!(status, 400);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
