import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopback, mergeUaddr, netidFor, parseUaddr, protOf, toUaddr } from '../../../protocols/rpc/uaddr';

describe('universal addresses', () => {
  it('formats and parses IPv4 and IPv6 forms (RFC 5665)', () => {
    assert.equal(toUaddr('192.0.2.1', 2049), '192.0.2.1.8.1');
    assert.equal(toUaddr('::1', 111), '::1.0.111');
    assert.deepEqual(parseUaddr('192.0.2.1.8.1'), { address: '192.0.2.1', port: 2049 });
    assert.deepEqual(parseUaddr('fe80::1.8.1'), { address: 'fe80::1', port: 2049 });
    for (const bad of ['', '1.2.3.4', '1.2.3.4.256.1', 'host.8.1', '1.2.3.4.8']) assert.equal(parseUaddr(bad), undefined, bad);
  });

  it('derives netids and protocol numbers', () => {
    assert.equal(netidFor('tcp', '0.0.0.0'), 'tcp');
    assert.equal(netidFor('udp', '::'), 'udp6');
    assert.equal(netidFor('tcp', '::ffff:10.0.0.1'), 'tcp');
    assert.equal(protOf('tcp6'), 6);
    assert.equal(protOf('udp'), 17);
    assert.equal(protOf('local'), undefined);
  });

  it('recognises loopback callers only', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
    for (const a of ['10.0.0.1', '::', '::ffff:10.0.0.1', '1270.0.0.1', '', 'localhost']) assert.equal(isLoopback(a), false, a);
  });

  it('merges wildcard registrations with the address the caller reached', () => {
    assert.equal(mergeUaddr('0.0.0.0.8.1', 'tcp', '192.0.2.5'), '192.0.2.5.8.1');
    assert.equal(mergeUaddr('0.0.0.0.8.1', 'tcp', '::ffff:192.0.2.5'), '192.0.2.5.8.1');
    assert.equal(mergeUaddr('::.8.1', 'tcp6', 'fd00::5'), 'fd00::5.8.1');
    // Concrete registrations, unknown or wildcard local addresses and family mismatches stay as they are.
    assert.equal(mergeUaddr('192.0.2.9.8.1', 'tcp', '192.0.2.5'), '192.0.2.9.8.1');
    assert.equal(mergeUaddr('0.0.0.0.8.1', 'tcp', '0.0.0.0'), '0.0.0.0.8.1');
    assert.equal(mergeUaddr('0.0.0.0.8.1', 'tcp', 'fd00::5'), '0.0.0.0.8.1');
  });
});
