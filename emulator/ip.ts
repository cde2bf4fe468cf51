/** IPv4 range checks for profile Login IP Ranges. */
import type { IpRange } from './model';

function ipv4ToNumber(address: string): number | undefined {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  const octets = plain.split('.');
  if (octets.length !== 4) return undefined;
  let value = 0;
  for (const octet of octets) {
    if (!/^\d{1,3}$/.test(octet) || Number(octet) > 255) return undefined;
    value = value * 256 + Number(octet);
  }
  return value;
}

export function isValidIpv4(address: string): boolean {
  return ipv4ToNumber(address) !== undefined;
}

/** No ranges means no restriction; an address that is not IPv4 is outside every range. */
export function isWithinRanges(address: string, ranges: readonly IpRange[]): boolean {
  if (ranges.length === 0) return true;
  const value = ipv4ToNumber(address);
  if (value === undefined) return false;
  return ranges.some((range) => {
    const start = ipv4ToNumber(range.start);
    const end = ipv4ToNumber(range.end);
    return start !== undefined && end !== undefined && value >= start && value <= end;
  });
}
