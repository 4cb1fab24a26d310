-- A calendar quota on one window's key, atomically. The key names the
-- window, so a new window starts from an absent (empty) key.
-- KEYS[1]  string: units used in the window
-- ARGV     n (units, or delta when adjusting), fits (quota plus rounding
--          allowance), ttl (ms: until the window ends, plus slack),
--          adjust ("1": add n and floor at zero; else admit n only if all fit)
-- Returns  {applied (1|0), used after the call as "%.17g"}
local n = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[4] == '1' then
  used = used + n
  if used < 0 then used = 0 end
elseif used + n <= tonumber(ARGV[2]) then
  used = used + n
else
  return {0, string.format('%.17g', used)}
end
if used <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.17g', used), 'PX', ARGV[3])
end
return {1, string.format('%.17g', used)}
