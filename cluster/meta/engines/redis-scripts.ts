/**
 * Lua scripts of the Redis engine (redis-engine.ts). A volume's store is two Redis keys:
 *
 *   <prefix>d   hash:       field = KV key bytes, value = KV value bytes
 *   <prefix>z   sorted set: every KV key as a member, all with score 0
 *
 * With equal scores ZRANGEBYLEX orders members by memcmp (shorter prefix first), which is exactly the
 * KV contract's bytewise order, so range reads are index scans. Both keys always change together,
 * inside one script, so they never disagree.
 *
 * A script runs atomically on the Redis server (nothing else executes meanwhile): COMMIT validates a
 * transaction's read set and applies its write set in one step, which makes optimistic transactions
 * serializable across every gateway sharing the store.
 */

/**
 * Shared helpers. HMGET with thousands of fields would overflow Lua's C stack through unpack(), so
 * large reads go in slices.
 */
const HELPERS = `
local function hmget(h, ks)
  local out = {}
  local n = #ks
  local i = 1
  while i <= n do
    local j = math.min(i + 3999, n)
    local part = redis.call('HMGET', h, unpack(ks, i, j))
    for x = 1, #part do out[i + x - 1] = part[x] end
    i = j + 1
  end
  return out
end
`;

/**
 * COMMIT: KEYS = [hash, zset, lease]; ARGV = nReads, nRanges, nWrites, caller id, then
 *   reads:  key, expected value ('' = the key was absent; stored values are never empty)
 *   ranges: min, max (ZRANGEBYLEX bounds), n, then the n keys seen and the n values seen
 *   writes: key, value ('' = delete)
 * Returns 1 when applied, 0 when any read is stale (nothing written), 2 when the transaction writes and
another gateway holds the read lease (nothing written: the caller asks for the lease with LEASE 'break'
and retries; redis-lease.ts).
 *
 * Validation compares values, not versions: a read is valid iff the stored value is still the one the
 * transaction saw, so the transaction's reads are all true at the moment the script runs and it can be
 * ordered there. A range is valid iff the same keys (no phantom appeared, none vanished) with the same
 * values lie between its bounds, up to where the transaction stopped reading it.
 */
export const COMMIT_LUA = `${HELPERS}
local h, z = KEYS[1], KEYS[2]
local nr, ng, nw = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local i = 5
if nw > 0 then
  local holder = redis.call('GET', KEYS[3])
  if holder and holder ~= ARGV[4] then return 2 end
end
if nr > 0 then
  local ks = {}
  for j = 1, nr do ks[j] = ARGV[i + 2 * (j - 1)] end
  local cur = hmget(h, ks)
  for j = 1, nr do
    local c = cur[j]
    if not c then c = '' end
    if c ~= ARGV[i + 2 * (j - 1) + 1] then return 0 end
  end
  i = i + 2 * nr
end
for g = 1, ng do
  local mn, mx, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  local ks = redis.call('ZRANGEBYLEX', z, mn, mx, 'LIMIT', 0, n + 1)
  if #ks ~= n then return 0 end
  for j = 1, n do
    if ks[j] ~= ARGV[i + j - 1] then return 0 end
  end
  if n > 0 then
    local vs = hmget(h, ks)
    for j = 1, n do
      if vs[j] ~= ARGV[i + n + j - 1] then return 0 end
    end
  end
  i = i + 2 * n
end
for w = 1, nw do
  local k, v = ARGV[i], ARGV[i + 1]
  i = i + 2
  if v == '' then
    if redis.call('HDEL', h, k) == 1 then redis.call('ZREM', z, k) end
  else
    if redis.call('HSET', h, k, v) == 1 then redis.call('ZADD', z, 0, k) end
  end
end
return 1
`;

/**
 * RANGE: KEYS = [hash, zset]; ARGV = min, max, limit (-1 = no limit). Returns key1, value1, key2, ...
 * One round trip for keys and values, read in one atomic step.
 */
export const RANGE_LUA = `${HELPERS}
local ks = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
if #ks == 0 then return out end
local vs = hmget(KEYS[1], ks)
for j = 1, #ks do
  out[2 * j - 1] = ks[j]
  out[2 * j] = vs[j] or ''
end
return out
`;

/**
 * LEASE: the read lease of redis-lease.ts. KEYS = [lease, contended]; ARGV = op, caller id, ms, channel.
 *   acquire  (ms = TTL): granted (1) unless another holds it or the contended mark is set (0).
 *   renew    (ms = TTL): 1 renewed; 0 not the holder any more; -1 another gateway wants to write (the
 *            caller empties its cache, then releases).
 *   release: deletes the lease if the caller holds it.
 *   break    (ms = how long nobody may acquire): sets the contended mark and tells the holder on the
 *            channel; 1 while a lease is still held by another, 0 when none is.
 */
export const LEASE_LUA = `
local lease, mark, op, me, ms = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
local holder = redis.call('GET', lease)
if op == 'acquire' then
  if redis.call('EXISTS', mark) == 1 then return 0 end
  if holder and holder ~= me then return 0 end
  redis.call('SET', lease, me, 'PX', ms)
  return 1
elseif op == 'renew' then
  if holder ~= me then return 0 end
  if redis.call('EXISTS', mark) == 1 then return -1 end
  redis.call('PEXPIRE', lease, ms)
  return 1
elseif op == 'release' then
  if holder == me then redis.call('DEL', lease) end
  return 1
elseif op == 'break' then
  if not holder or holder == me then return 0 end
  redis.call('SET', mark, me, 'PX', ms)
  redis.call('PUBLISH', ARGV[4], holder)
  return 1
end
return redis.error_reply('LEASE: unknown op')
`;
