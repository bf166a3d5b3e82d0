//! Which addresses are the organisation's own (`--home-net`), to split internal hosts from the
//! external ones they reached.

use std::net::IpAddr;

/// Suricata's default `HOME_NET` plus the IPv6 private (ULA) and link-local ranges, and the
/// IPv4 link-local range.
pub(crate) const DEFAULT_HOME_NET: &str = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,fc00::/7,fe80::/10";

/// A list of networks.
#[derive(Debug, Clone)]
pub(crate) struct HomeNet {
    nets: Vec<(IpAddr, u8)>,
}

impl HomeNet {
    /// Parses `CIDR[,CIDR...]` (a bare address is a /32 or /128).
    pub(crate) fn parse(s: &str) -> Result<HomeNet, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (addr, len) = match part.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (part, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| format!("{part:?}: not an IP address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match len {
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("{part:?}: prefix length must be 0 to {max}"))?,
                None => max,
            };
            nets.push((ip, len));
        }
        if nets.is_empty() {
            return Err("no network given".into());
        }
        Ok(HomeNet { nets })
    }

    pub(crate) fn contains(&self, ip: &IpAddr) -> bool {
        self.nets.iter().any(|(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(u32::from(*n) as u128, u32::from(*a) as u128, *len, 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(*n), u128::from(*a), *len, 128),
            _ => false,
        })
    }
}

fn prefix_eq(a: u128, b: u128, len: u8, bits: u8) -> bool {
    let shift = u32::from(bits.saturating_sub(len));
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let h = HomeNet::parse(DEFAULT_HOME_NET).unwrap();
        for ip in ["10.1.2.3", "172.31.255.255", "192.168.0.1", "fd00::1", "fe80::1", "169.254.1.1"] {
            assert!(h.contains(&ip.parse().unwrap()), "{ip}");
        }
        for ip in ["172.32.0.1", "8.8.8.8", "2001:db8::1", "11.0.0.1"] {
            assert!(!h.contains(&ip.parse().unwrap()), "{ip}");
        }
        let all = HomeNet::parse("0.0.0.0/0, 1.2.3.4").unwrap();
        assert!(all.contains(&"255.1.1.1".parse().unwrap()));
        assert!(!all.contains(&"::1".parse().unwrap()));
    }

    #[test]
    fn errors_name_the_part() {
        assert!(HomeNet::parse("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(HomeNet::parse("x/8").unwrap_err().contains("x/8"));
        assert!(HomeNet::parse(" , ").is_err());
    }
}
