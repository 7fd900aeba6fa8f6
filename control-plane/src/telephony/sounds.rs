//! Media URIs → what the media engine plays: `sound:` (a name in the sound directories, a
//! path, or an `http(s)://` URL fetched once and cached), `tone:`, `digits:`, `characters:`,
//! `number:`, `recording:`; built-in `beep` and `silence/N`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use media_engine::playback::{PlaySource, load_sound};

use super::Settings;

/// File extensions tried for a sound name, best first.
const EXTENSIONS: [&str; 8] = [
    "wav16", "sln48", "sln16", "wav", "sln", "ulaw", "alaw", "g722",
];

/// Resolves one media URI (blocking: file system and network; run it off the core).
pub(crate) fn resolve(
    uri: &str,
    lang: &str,
    settings: &Arc<Settings>,
) -> Result<Vec<PlaySource>, String> {
    let (scheme, rest) = uri
        .split_once(':')
        .ok_or_else(|| format!("bad media URI {uri:?}"))?;
    match scheme {
        "sound" => sound(rest, lang, settings).map(|s| vec![s]),
        "tone" => {
            let spec = rest.split(";tonezone=").next().unwrap_or(rest);
            Ok(vec![PlaySource::Tone(spec.to_string())])
        }
        "digits" => rest
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| {
                let name = match c {
                    '*' => "digits/star".to_string(),
                    '#' => "digits/pound".to_string(),
                    '0'..='9' => format!("digits/{c}"),
                    _ => return Err(format!("bad digit {c:?}")),
                };
                sound(&name, lang, settings)
            })
            .collect(),
        "characters" => rest
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| {
                let name = match c.to_ascii_lowercase() {
                    d @ '0'..='9' => format!("digits/{d}"),
                    l @ 'a'..='z' => format!("letters/{l}"),
                    '*' => "letters/asterisk".into(),
                    '#' => "letters/pound".into(),
                    '.' => "letters/dot".into(),
                    '@' => "letters/at".into(),
                    _ => return Err(format!("no sound for {c:?}")),
                };
                sound(&name, lang, settings)
            })
            .collect(),
        "number" => {
            let n: i64 = rest
                .trim()
                .parse()
                .map_err(|_| format!("bad number {rest:?}"))?;
            number_words(n)
                .into_iter()
                .map(|w| sound(&w, lang, settings))
                .collect()
        }
        "recording" => {
            let path = stored_recording(&settings.recordings_dir, rest)
                .ok_or_else(|| format!("no recording {rest:?}"))?;
            load(&path).map(|s| vec![s])
        }
        _ => Err(format!("unsupported media scheme {scheme:?}")),
    }
}

fn load(path: &Path) -> Result<PlaySource, String> {
    load_sound(path)
        .map(PlaySource::Pcm)
        .map_err(|e| e.to_string())
}

fn sound(name: &str, lang: &str, settings: &Arc<Settings>) -> Result<PlaySource, String> {
    if name.starts_with("http://") || name.starts_with("https://") {
        let path = fetch_cached(name, &settings.sound_cache)?;
        return load(&path);
    }
    if name.starts_with('/') {
        return find_file(Path::new(name))
            .ok_or_else(|| format!("no sound file {name}"))
            .and_then(|p| load(&p));
    }
    if name.contains("..") {
        return Err(format!("bad sound name {name:?}"));
    }
    for dir in &settings.sound_dirs {
        for base in [dir.join(lang).join(name), dir.join(name)] {
            if let Some(p) = find_file(&base) {
                return load(&p);
            }
        }
    }
    // Built-in sounds VoIPBIN plays by name.
    if name == "beep" {
        return Ok(PlaySource::Tone("beep".into()));
    }
    if let Some(n) = name
        .strip_prefix("silence/")
        .and_then(|n| n.parse::<u64>().ok())
        && (1..=10).contains(&n)
    {
        return Ok(PlaySource::Silence(Duration::from_secs(n)));
    }
    Err(format!("sound {name} not found"))
}

/// `base` itself, or `base.<ext>` for the first extension that exists.
fn find_file(base: &Path) -> Option<PathBuf> {
    if base.is_file() && base.extension().is_some() {
        return Some(base.to_path_buf());
    }
    if base.is_file() {
        // No extension (VoIPBIN's TTS files): look at the content.
        let head = std::fs::read(base).ok()?;
        if head.starts_with(b"RIFF") {
            let with = base.with_extension("wav");
            let _ = std::fs::copy(base, &with);
            return Some(with);
        }
    }
    EXTENSIONS.iter().find_map(|ext| {
        let p = PathBuf::from(format!("{}.{ext}", base.display()));
        p.is_file().then_some(p)
    })
}

/// A stored recording's file (`<dir>/<name>.<ext>`).
pub(crate) fn stored_recording(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.contains("..") {
        return None;
    }
    ["wav", "wav16", "sln", "sln16", "ulaw"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// English words for a number as Asterisk's sound names (`digits/20`, `digits/hundred`...).
fn number_words(n: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut n = if n < 0 {
        out.push("digits/minus".into());
        n.unsigned_abs()
    } else {
        n as u64
    };
    if n == 0 {
        return vec!["digits/0".into()];
    }
    for (unit, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1000, "thousand"),
    ] {
        if n >= unit {
            out.extend(number_words((n / unit) as i64));
            out.push(format!("digits/{name}"));
            n %= unit;
        }
    }
    if n >= 100 {
        out.push(format!("digits/{}", n / 100));
        out.push("digits/hundred".into());
        n %= 100;
    }
    if n >= 20 {
        out.push(format!("digits/{}", n / 10 * 10));
        n %= 10;
    }
    if n > 0 {
        out.push(format!("digits/{n}"));
    }
    out
}

/// Fetches an HTTP(S) sound once, keeping it in the cache directory under a name derived
/// from the URL.
fn fetch_cached(url: &str, cache: &Path) -> Result<PathBuf, String> {
    let key = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(url.as_bytes()))
    };
    let ext = url
        .rsplit('/')
        .next()
        .and_then(|f| f.split(['?', '#']).next())
        .and_then(|f| f.rsplit_once('.').map(|x| x.1.to_ascii_lowercase()))
        .filter(|e| EXTENSIONS.contains(&e.as_str()))
        .unwrap_or_else(|| "wav".into());
    let path = cache.join("http").join(format!("{key}.{ext}"));
    if path.is_file() {
        return Ok(path);
    }
    let bytes = crate::http_fetch::get(url, 3).map_err(|e| format!("fetching {url}: {e}"))?;
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, &bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_asterisk_says_them() {
        assert_eq!(number_words(0), ["digits/0"]);
        assert_eq!(number_words(15), ["digits/15"]);
        assert_eq!(number_words(42), ["digits/40", "digits/2"]);
        assert_eq!(
            number_words(1234),
            [
                "digits/1",
                "digits/thousand",
                "digits/2",
                "digits/hundred",
                "digits/30",
                "digits/4"
            ]
        );
        assert_eq!(number_words(-7), ["digits/minus", "digits/7"]);
    }
}
