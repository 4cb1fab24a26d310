-- A rate limit (GCRA) on one key, atomically.
-- KEYS[1]  hash {s, n}: the theoretical arrival time (TAT), Unix seconds and
--          nanoseconds; an absent key is an empty bucket.
-- ARGV     inc (ns of debt to add; may be negative when adjusting),
--          tau (ns of debt a full burst makes), now seconds, now nanoseconds,
--          adjust ("1": add inc, floor at empty, cap at maxdebt;
--          else admit only if debt + inc <= tau), maxdebt
-- Returns  {applied (1|0), debt after the call in ns}
-- Lua numbers are doubles: a Unix time in ns is past 2^53, a debt is not,
-- so time is split in seconds and nanoseconds and only debts are summed.
local inc = tonumber(ARGV[1])
local now_s, now_n = tonumber(ARGV[3]), tonumber(ARGV[4])
local debt = 0
local st = redis.call('HMGET', KEYS[1], 's', 'n')
if st[1] then
  debt = (tonumber(st[1]) - now_s) * 1e9 + (tonumber(st[2]) - now_n)
  if debt < 0 then debt = 0 end
end
if ARGV[5] == '1' then
  debt = debt + inc
  if debt < 0 then debt = 0 end
  local cap = tonumber(ARGV[6])
  if debt > cap then debt = cap end
elseif debt + inc <= tonumber(ARGV[2]) then
  debt = debt + inc
else
  return {0, debt}
end
if debt <= 0 then
  redis.call('DEL', KEYS[1])
else
  local t = now_n + debt
  redis.call('HSET', KEYS[1], 's', string.format('%.0f', now_s + math.floor(t / 1e9)), 'n', string.format('%.0f', t % 1e9))
  -- Expire once empty (an absent key is an empty bucket), plus a second
  -- for replicas whose clocks lag.
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(debt / 1e6) + 1000))
end
return {1, debt}
