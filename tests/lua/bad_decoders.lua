-- bad_decoders.lua: payload decoders that misbehave (test_lora.py).
-- FPort 1 loops forever, 2 throws, 3 eats memory, anything else decodes.
function decodeUplink(input)
  if input.fPort == 1 then while true do end end
  if input.fPort == 2 then error("the vendor's decoder threw") end
  if input.fPort == 3 then local s = string.rep("m", 64 * 1024 * 1024) end
  return { data = { ok = 1 } }
end
