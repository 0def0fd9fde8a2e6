-- Water meter with a LoRa module.
-- Payload, FPort 4: uint32 LE total volume in litres, uint8 flags
-- (bit 0 leak, bit 1 backflow, bit 2 battery low).
function decodeUplink(input)
  local b = input.bytes
  if input.fPort ~= 4 or #b < 5 then
    return { errors = { "expected 5 bytes on FPort 4" } }
  end
  local litres = b[1] + b[2] * 256 + b[3] * 65536 + b[4] * 16777216
  local flags = b[5]
  local warnings = {}
  if flags & 1 ~= 0 then warnings[#warnings + 1] = "leak" end
  if flags & 2 ~= 0 then warnings[#warnings + 1] = "backflow" end
  if flags & 4 ~= 0 then warnings[#warnings + 1] = "battery low" end
  return {
    data = { volume = litres / 1000, leak = flags & 1 ~= 0, backflow = flags & 2 ~= 0 },
    units = { volume = "m3", leak = "1", backflow = "1" },
    warnings = warnings, errors = {},
  }
end
