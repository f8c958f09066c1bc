//! Facts about the machine a ceremony runs on: network interfaces and routes, the
//! running binary's SHA-256, and the UTC clock.
//!
//! Read from `/sys/class/net` and `/proc/net/route` so that nothing needs to be installed
//! on the live image to check them.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One network interface and whether it is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    /// `operstate` as the kernel reports it (`up`, `down`, `unknown`, ...).
    pub state: String,
}

impl Interface {
    pub fn is_loopback(&self) -> bool {
        self.name == "lo"
    }

    /// `unknown` counts as up: many virtual and some real drivers report it while passing
    /// traffic.
    pub fn is_up(&self) -> bool {
        self.state == "up" || self.state == "unknown"
    }
}

/// The network as the ceremony sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    pub interfaces: Vec<Interface>,
    /// Interfaces that carry an IPv4 default route.
    pub default_routes: Vec<String>,
}

impl NetworkState {
    /// Reads the live state of this machine.
    pub fn read() -> NetworkState {
        Self::read_from(Path::new("/sys/class/net"), Path::new("/proc/net/route"))
    }

    /// Reads from other roots (tests).
    pub fn read_from(sys_net: &Path, route: &Path) -> NetworkState {
        let mut interfaces = Vec::new();
        if let Ok(entries) = std::fs::read_dir(sys_net) {
            // Entries are symlinks to device folders; plain files such as
            // `bonding_masters` are not interfaces.
            for entry in entries.flatten().filter(|e| e.path().is_dir()) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let state = std::fs::read_to_string(entry.path().join("operstate"))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|_| "unknown".into());
                interfaces.push(Interface { name, state });
            }
        }
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        let default_routes = std::fs::read_to_string(route)
            .map(|text| parse_default_routes(&text))
            .unwrap_or_default();
        NetworkState {
            interfaces,
            default_routes,
        }
    }

    /// Every reason this machine is not offline; empty when it is.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .interfaces
            .iter()
            .filter(|i| !i.is_loopback() && i.is_up())
            .map(|i| format!("network interface {} is {}", i.name, i.state))
            .collect();
        out.extend(
            self.default_routes
                .iter()
                .map(|i| format!("a default route goes out through {i}")),
        );
        out
    }
}

/// Interfaces of `/proc/net/route` lines whose destination is 0.0.0.0.
fn parse_default_routes(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let iface = cols.next()?;
            (cols.next()? == "00000000").then(|| iface.to_string())
        })
        .collect()
}

/// SHA-256 of the running executable, as the people compare it with the printed script.
pub fn binary_sha256() -> Result<String, std::io::Error> {
    let bytes = std::fs::read("/proc/self/exe")?;
    Ok(crate::fsutil::sha256_hex(&bytes))
}

/// Hex grouped in fours for reading aloud and comparing with paper.
pub fn group_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_up_interfaces_and_default_routes() {
        let dir = tempfile::tempdir().unwrap();
        for (name, state) in [("lo", "unknown"), ("eth0", "up"), ("wlan0", "down")] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(
                dir.path().join(name).join("operstate"),
                format!("{state}\n"),
            )
            .unwrap();
        }
        let route = dir.path().join("route");
        std::fs::write(dir.path().join("bonding_masters"), "").unwrap();
        std::fs::write(
            &route,
            "Iface\tDestination\tGateway\nlo\t0000007F\t00000000\neth0\t00000000\t0101A8C0\n",
        )
        .unwrap();
        let state = NetworkState::read_from(dir.path(), &route);
        assert_eq!(
            state.problems(),
            vec![
                "network interface eth0 is up".to_string(),
                "a default route goes out through eth0".to_string()
            ]
        );
    }

    #[test]
    fn groups_hex_by_four() {
        assert_eq!(group_hex("abcdef0123"), "abcd ef01 23");
    }
}
