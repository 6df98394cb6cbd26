use bgp_wire::{AddPathFamilies, Context, Family};

/// The first input byte picks the decode context; the rest is the message.
pub fn split(data: &[u8]) -> Option<(Context, &[u8])> {
    let (&flags, rest) = data.split_first()?;
    let mut add_path = AddPathFamilies::NONE;
    if flags & 0x04 != 0 {
        add_path.insert(Family::IPV4_UNICAST);
    }
    if flags & 0x08 != 0 {
        add_path.insert(Family::IPV6_UNICAST);
    }
    let ctx = Context {
        four_octet_as: flags & 0x01 != 0,
        extended_message: flags & 0x02 != 0,
        add_path,
        ebgp: flags & 0x10 != 0,
    };
    Some((ctx, rest))
}
