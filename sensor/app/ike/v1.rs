//! IKEv1 (ISAKMP, RFC 2408/2409) payloads, read as Suricata's IKE parser reads them: the chain
//! of generic payloads after the header, the security association (DOI 1: IPsec) with its
//! proposals and their transforms' attributes (RFC 2409 appendix A), the key exchange, the
//! nonce and vendor ids. Nothing is copied beyond what a transaction keeps; every length is
//! checked against what remains.

/// ISAKMP payload type names, as Suricata's EVE `payload` list writes them.
pub(crate) const PAYLOAD_TYPES: &[(u8, &str)] = &[
    (0, "None"),
    (1, "SecurityAssociation"),
    (2, "Proposal"),
    (3, "Transform"),
    (4, "KeyExchange"),
    (5, "Identification"),
    (6, "Certificate"),
    (7, "CertificateRequest"),
    (8, "Hash"),
    (9, "Signature"),
    (10, "Nonce"),
    (11, "Notification"),
    (12, "Delete"),
    (13, "VendorID"),
    (15, "SaKekPayload"),
    (16, "SaTekPayload"),
    (17, "KeyDownload"),
    (18, "SequenceNumber"),
    (19, "ProofOfPossession"),
    (20, "NatDiscovery"),
    (21, "NatOriginalAddress"),
    (22, "GroupAssociatedPolicy"),
];

const SA: u8 = 1;
const PROPOSAL: u8 = 2;
const TRANSFORM: u8 = 3;
const KEY_EXCHANGE: u8 = 4;
const NONCE: u8 = 10;
const VENDOR_ID: u8 = 13;

/// Transform attribute types (RFC 2409 appendix A), by Suricata's names (`ike.chosen_sa_attribute`
/// and EVE `attributes[].key`); index: the type number.
pub(crate) const ATTRIBUTE_TYPES: &[&str] = &[
    "unknown",
    "alg_enc",
    "alg_hash",
    "alg_auth",
    "alg_dh",
    "sa_group_type",
    "sa_group_prime",
    "sa_group_generator_one",
    "sa_group_generator_two",
    "sa_group_curve_a",
    "sa_group_curve_b",
    "sa_life_type",
    "sa_life_duration",
    "alg_prf",
    "sa_key_length",
    "sa_field_size",
    "sa_group_order",
];

/// The attribute type named `name` (a row of [`ATTRIBUTE_TYPES`]).
pub(crate) fn attribute_type(name: &str) -> Option<u16> {
    ATTRIBUTE_TYPES.iter().position(|n| n.eq_ignore_ascii_case(name)).and_then(|i| u16::try_from(i).ok())
}

/// The name of an attribute's value as Suricata writes it (`EncAesCbc`, `HashSha2_256`, ...).
fn value_name(attr_type: u16, v: u16) -> &'static str {
    const ENC: &[&str] = &[
        "EncDesCbc",
        "EncIdeaCbc",
        "EncBlowfishCbc",
        "EncRc5R16B64Cbc",
        "EncTripleDesCbc",
        "EncCastCbc",
        "EncAesCbc",
        "EncCamelliaCbc",
    ];
    const HASH: &[&str] = &["HashMd5", "HashSha", "HashTiger", "HashSha2_256", "HashSha2_384", "HashSha2_512"];
    const AUTH: &[&str] = &[
        "AuthPreSharedKey",
        "AuthDssSignatures",
        "AuthRsaSignatures",
        "AuthEncryptionWithRsa",
        "AuthRevisedEncryptionWithRsa",
        "AuthReserved",
        "AuthReserved",
        "AuthReserved",
        "AuthEcdsaSha256",
        "AuthEcdsaSha384",
        "AuthEcdsaSha512",
    ];
    const GROUP: &[&str] = &[
        "GroupDefault768BitModp",
        "GroupAlternate1024BitModpGroup",
        "GroupEc2nOnGp2p155",
        "GroupEc2nOnGp2p185",
        "GroupModp1536Bit",
        "GroupEc2nOverGf2p163",
        "GroupEc2nOverGf2p163",
        "GroupEc2nOverGf2p283",
        "GroupEc2nOverGf2p283",
        "GroupEc2nOverGf2p409",
        "GroupEc2nOverGf2p409",
        "GroupEc2nOverGf2p571",
        "GroupEc2nOverGf2p571",
        "GroupModp2048Bit",
        "GroupModp3072Bit",
        "GroupModp4096Bit",
        "GroupModp6144Bit",
        "GroupModp8192Bit",
        "GroupRandomEcp256",
        "GroupRandomEcp384",
        "GroupRandomEcp521",
        "GroupModp1024With160BitPrime",
        "GroupModp2048With224BitPrime",
        "GroupModp2048With256BitPrime",
        "GroupRandomEcp192",
        "GroupRandomEcp224",
        "GroupBrainpoolEcp224",
        "GroupBrainpoolEcp256",
        "GroupBrainpoolEcp384",
        "GroupBrainpoolEcp512",
    ];
    const LIFE: &[&str] = &["LifeTypeSeconds", "LifeTypeKilobytes"];
    let table: &[&str] = match attr_type {
        1 => ENC,
        2 => HASH,
        3 => AUTH,
        4 => GROUP,
        11 => LIFE,
        _ => &[],
    };
    usize::from(v).checked_sub(1).and_then(|i| table.get(i)).copied().unwrap_or("Unknown")
}

/// One attribute of a transform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Its type number (names: [`ATTRIBUTE_TYPES`], beyond them `unknown`).
    pub kind: u16,
    /// The value's name (`Unknown` when not an enumerated value).
    pub value: &'static str,
    /// A basic attribute's value, or a variable one of four bytes.
    pub numeric: Option<u32>,
    /// A variable attribute of another length, in hex.
    pub hex: Option<String>,
}

impl Attribute {
    /// Its type's name.
    pub fn kind_name(&self) -> &'static str {
        ATTRIBUTE_TYPES.get(usize::from(self.kind)).copied().unwrap_or("unknown")
    }
}

/// What an IKEv1 message carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1Payloads {
    /// Payload types seen, in first-seen order, each once.
    pub types: Vec<u8>,
    /// The SA's domain of interpretation.
    pub doi: Option<u32>,
    /// Key exchange data (the last one).
    pub key_exchange: Vec<u8>,
    /// Nonce (the last one).
    pub nonce: Vec<u8>,
    /// Transforms' attribute lists, in order.
    pub transforms: Vec<Vec<Attribute>>,
    /// Vendor ids, in hex.
    pub vendor_ids: Vec<String>,
    /// Bytes left after the last whole payload.
    pub extra: bool,
}

/// Transforms kept per message.
pub(crate) const MAX_TRANSFORMS: usize = 64;
/// Vendor ids kept per message.
pub(crate) const MAX_VENDOR_IDS: usize = 32;
/// Attributes kept per transform.
const MAX_ATTRIBUTES: usize = 32;
/// How deep payloads nest (SA > proposal > transform).
const MAX_DEPTH: u8 = 3;

/// Lowercase hex of `b`.
pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(b"0123456789abcdef"[usize::from(x >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(x & 15)]));
    }
    s
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*d.get(at)?, *d.get(at + 1)?, *d.get(at + 2)?, *d.get(at + 3)?]))
}

/// Splits a chain of generic payloads: calls `f` with (this payload's type, its body); the
/// first payload's type is `first`, each next one's from the header before it. Returns the
/// bytes left after the last whole payload, or `Err` when `f` fails.
fn chain<'a>(mut d: &'a [u8], first: u8, f: &mut dyn FnMut(u8, &'a [u8]) -> Result<(), ()>) -> Result<&'a [u8], ()> {
    let mut ty = first;
    while d.len() >= 4 {
        let next = d.first().copied().unwrap_or(0);
        let len = usize::from(be16(d, 2).unwrap_or(0));
        let body_len = len.saturating_sub(4);
        let Some(body) = d.get(4..4 + body_len) else { break };
        f(ty, body)?;
        d = d.get(4 + body_len..).unwrap_or(&[]);
        ty = next;
    }
    Ok(d)
}

fn attributes(mut d: &[u8]) -> Vec<Attribute> {
    let mut out = Vec::new();
    while d.len() >= 4 && out.len() < MAX_ATTRIBUTES {
        let b = be16(d, 0).unwrap_or(0);
        let (basic, kind) = (b >> 15 == 1, b & 0x7fff);
        let lv = be16(d, 2).unwrap_or(0);
        let (numeric, hexv, used) = if basic {
            (Some(u32::from(lv)), None, 4)
        } else if lv == 4 {
            match be32(d, 4) {
                Some(v) => (Some(v), None, 8),
                None => break,
            }
        } else {
            match d.get(4..4 + usize::from(lv)) {
                Some(v) => (None, Some(hex(v)), 4 + usize::from(lv)),
                None => break,
            }
        };
        let value = value_name(kind, lv);
        let kind = if usize::from(kind) < ATTRIBUTE_TYPES.len() { kind } else { 0 };
        out.push(Attribute { kind, value, numeric, hex: hexv });
        d = d.get(used..).unwrap_or(&[]);
    }
    out
}

impl V1Payloads {
    fn payload(&mut self, ty: u8, body: &[u8], depth: u8) -> Result<(), ()> {
        if !self.types.contains(&ty) {
            self.types.push(ty);
        }
        match ty {
            SA => {
                let doi = be32(body, 0).ok_or(())?;
                self.doi = Some(doi);
                if doi == 1 && depth < MAX_DEPTH {
                    let inner = body.get(8..).ok_or(())?;
                    chain(inner, PROPOSAL, &mut |t, b| self.payload(t, b, depth + 1))?;
                }
            }
            PROPOSAL => {
                let spi_size = usize::from(*body.get(2).ok_or(())?);
                let inner = body.get(4 + spi_size..).ok_or(())?;
                if depth < MAX_DEPTH {
                    chain(inner, TRANSFORM, &mut |t, b| self.payload(t, b, depth + 1))?;
                }
            }
            TRANSFORM => {
                if let Some(a) = body.get(4..) {
                    if self.transforms.len() < MAX_TRANSFORMS {
                        self.transforms.push(attributes(a));
                    }
                }
            }
            KEY_EXCHANGE => self.key_exchange = body.to_vec(),
            NONCE => self.nonce = body.to_vec(),
            VENDOR_ID if self.vendor_ids.len() < MAX_VENDOR_IDS => self.vendor_ids.push(hex(body)),
            _ => {}
        }
        Ok(())
    }
}

/// Reads the payloads after an IKEv1 header whose next payload is `first`; `None` when a
/// security association or proposal is malformed (Suricata's parser gives up on the message).
pub(crate) fn parse(d: &[u8], first: u8) -> Option<V1Payloads> {
    let mut p = V1Payloads { types: vec![first], ..V1Payloads::default() };
    let rest = chain(d, first, &mut |t, b| p.payload(t, b, 0)).ok()?;
    p.extra = !rest.is_empty();
    Some(p)
}
