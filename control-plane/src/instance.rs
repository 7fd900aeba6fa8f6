//! The instance id: VoIPBIN's `asterisk_id`, the MAC address of an interface
//! (`42:01:0a:a4:0f:d0`), unless configured explicitly.

use std::path::Path;

use crate::config::InstanceConfig;

/// Resolves the instance id from the configuration and the host's interfaces.
pub fn resolve(config: &InstanceConfig) -> String {
    if let Some(id) = &config.id {
        return id.clone();
    }
    let net = Path::new("/sys/class/net");
    if let Some(iface) = &config.interface {
        if let Some(mac) = read_mac(&net.join(iface)) {
            return mac;
        }
        tracing::warn!(interface = %iface, "interface has no MAC address; falling back");
    }
    first_interface_mac(net).unwrap_or_else(|| "00:00:00:00:00:00".to_string())
}

fn read_mac(dir: &Path) -> Option<String> {
    let mac = std::fs::read_to_string(dir.join("address")).ok()?;
    let mac = mac.trim().to_ascii_lowercase();
    let valid = mac.len() == 17 && mac != "00:00:00:00:00:00";
    valid.then_some(mac)
}

fn first_interface_mac(net: &Path) -> Option<String> {
    let mut names: Vec<_> = std::fs::read_dir(net)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .collect();
    names.sort();
    names.iter().find_map(|n| read_mac(&net.join(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_id_wins() {
        let c = InstanceConfig {
            id: Some("voipbin-ast-call".into()),
            interface: Some("eth0".into()),
        };
        assert_eq!(resolve(&c), "voipbin-ast-call");
    }

    #[test]
    fn mac_form() {
        let id = resolve(&InstanceConfig::default());
        assert_eq!(id.len(), 17, "{id}");
        assert_eq!(id.matches(':').count(), 5, "{id}");
    }
}
